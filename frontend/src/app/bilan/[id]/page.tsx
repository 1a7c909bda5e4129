import type { Metadata } from "next";
import { ProgressReport } from "./ProgressReport";

export const metadata: Metadata = { title: "Bilan de progression" };

export default async function ProgressReportPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <ProgressReport id={id} />;
}
