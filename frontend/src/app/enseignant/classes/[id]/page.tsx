import type { Metadata } from "next";
import { ClassPage } from "./ClassPage";

export const metadata: Metadata = { title: "Classe" };

export default async function TeacherClassPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <ClassPage id={id} />;
}
