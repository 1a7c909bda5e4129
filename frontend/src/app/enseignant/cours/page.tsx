import type { Metadata } from "next";
import { TeacherCourses } from "./TeacherCourses";

export const metadata: Metadata = { title: "Mes cours" };

export default function TeacherCoursesPage() {
  return <TeacherCourses />;
}
