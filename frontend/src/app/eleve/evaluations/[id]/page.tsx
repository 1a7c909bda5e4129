import type { Metadata } from "next";
import { AssessmentPage } from "./AssessmentPage";

export const metadata: Metadata = { title: "Évaluation" };

export default async function AssessmentRoute({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <AssessmentPage id={id} />;
}
