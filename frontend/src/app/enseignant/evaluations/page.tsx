import type { Metadata } from "next";
import { TeacherAssessments } from "./TeacherAssessments";

export const metadata: Metadata = { title: "Mes évaluations" };

export default function TeacherAssessmentsPage() {
  return <TeacherAssessments />;
}
