import type { Metadata } from "next";
import { Suspense } from "react";
import { notFound } from "next/navigation";
import { Loading } from "@/components/ui";
import { MessagesView } from "../MessagesView";

export const metadata: Metadata = { title: "Conversation" };

export default async function ConversationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const conversationId = Number(id);
  if (!/^[1-9][0-9]{0,17}$/.test(id) || !Number.isSafeInteger(conversationId)) notFound();
  return (
    <Suspense fallback={<Loading />}>
      <MessagesView conversationId={conversationId} />
    </Suspense>
  );
}
