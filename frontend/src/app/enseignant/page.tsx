import type { Metadata } from "next";
import { Placeholder } from "@/components/Placeholder";

export const metadata: Metadata = { title: "Espace enseignant" };

export default function TeacherPage() {
  return <Placeholder role="teacher" title="Espace enseignant" />;
}
