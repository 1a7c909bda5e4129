import type { Metadata } from "next";
import { AssessmentList } from "./AssessmentList";

export const metadata: Metadata = { title: "Évaluations" };

export default function AssessmentsPage() {
  return <AssessmentList />;
}
