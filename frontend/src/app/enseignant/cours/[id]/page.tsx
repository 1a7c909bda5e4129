import type { Metadata } from "next";
import { CourseEditor } from "./CourseEditor";

export const metadata: Metadata = { title: "Modifier le cours" };

export default async function TeacherCoursePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CourseEditor id={id} />;
}
