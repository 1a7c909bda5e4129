import type { Metadata } from "next";
import { TeacherClasses } from "./TeacherClasses";

export const metadata: Metadata = { title: "Mes classes" };

export default function TeacherPage() {
  return <TeacherClasses />;
}
