import type { Metadata } from "next";
import { StudentDashboard } from "./StudentDashboard";

export const metadata: Metadata = { title: "Tableau de bord" };

export default function StudentPage() {
  return <StudentDashboard />;
}
