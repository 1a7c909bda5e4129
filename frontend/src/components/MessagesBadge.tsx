"use client";

import { useConversations } from "@/lib/chat/useConversations";
import { unreadTotal } from "@/lib/chat/messages";
import { useSession } from "./session";

/** The unread messages over all one's conversations, beside "Messages" in the header; live. */
export function MessagesBadge() {
  const { user } = useSession();
  const { conversations } = useConversations(!!user, user?.id ?? null);
  const count = conversations ? unreadTotal(conversations) : 0;
  if (count === 0) return null;
  // `relative`: the sr-only text (position: absolute) stays inside the header's
  // sideways-scrolled row on a phone instead of widening the whole page.
  return (
    <span data-testid="messages-unread" className="relative ml-1.5 rounded-full bg-accent-700 px-1.5 py-0.5 text-xs font-semibold text-white">
      {count > 99 ? "99+" : count}
      <span className="sr-only"> non lu{count > 1 ? "s" : ""}</span>
    </span>
  );
}
