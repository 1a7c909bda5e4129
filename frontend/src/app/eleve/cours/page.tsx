import type { Metadata } from "next";
import { CourseCatalogue } from "./CourseCatalogue";

export const metadata: Metadata = { title: "Mes cours" };

export default function CoursesPage() {
  return <CourseCatalogue />;
}
