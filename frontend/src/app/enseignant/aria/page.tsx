import type { Metadata } from "next";
import { AriaOversight } from "./AriaOversight";

export const metadata: Metadata = { title: "Suivi d'ARIA" };

export default function TeacherAriaPage() {
  return <AriaOversight />;
}
