import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { CourseReader } from "./CourseReader";

export const metadata: Metadata = { title: "Cours" };

export default async function CoursePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // The reader reads ?section= (useSearchParams): a Suspense boundary, as Next asks.
  return (
    <Suspense fallback={<Loading />}>
      <CourseReader id={id} />
    </Suspense>
  );
}
