import type { Metadata } from "next";
import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { MessagesView } from "./MessagesView";

export const metadata: Metadata = { title: "Messages" };

export default function MessagesPage() {
  // useSearchParams (?avec=) needs a Suspense boundary on a statically rendered page.
  return (
    <Suspense fallback={<Loading />}>
      <MessagesView conversationId={null} />
    </Suspense>
  );
}
