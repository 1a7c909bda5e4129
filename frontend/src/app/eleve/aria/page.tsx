import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { AriaSessions } from "./AriaSessions";

export const metadata: Metadata = { title: "ARIA, ton tuteur" };

export default function AriaPage() {
  // ?session=… opens a conversation (useSearchParams: a Suspense boundary).
  return (
    <Suspense fallback={<Loading />}>
      <AriaSessions />
    </Suspense>
  );
}
