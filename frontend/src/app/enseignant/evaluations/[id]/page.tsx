import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { AssessmentEditor } from "./AssessmentEditor";

export const metadata: Metadata = { title: "Évaluation — enseignant" };

export default async function TeacherAssessmentRoute({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // The view shown (?vue=) is in the URL: useSearchParams needs a Suspense boundary.
  return (
    <Suspense fallback={<Loading />}>
      <AssessmentEditor id={id} />
    </Suspense>
  );
}
