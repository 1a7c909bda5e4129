import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { ParentDashboard } from "./ParentDashboard";

export const metadata: Metadata = { title: "Mes enfants" };

export default function ParentPage() {
  // The child shown is in the URL (?enfant=): useSearchParams needs a Suspense boundary.
  return (
    <Suspense fallback={<Loading />}>
      <ParentDashboard />
    </Suspense>
  );
}
