import type { Metadata } from "next";
import { ParentDashboard } from "./ParentDashboard";

export const metadata: Metadata = { title: "Mes enfants" };

export default function ParentPage() {
  return <ParentDashboard />;
}
