import type { Metadata } from "next";
import { CourseReader } from "./CourseReader";

export const metadata: Metadata = { title: "Cours" };

export default async function CoursePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <CourseReader id={id} />;
}
