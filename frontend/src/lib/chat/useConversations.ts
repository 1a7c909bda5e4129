"use client";

import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { api, errorMessage } from "@/lib/api/client";
import type { HubFrame } from "@/lib/hub/hub";
import { useNotifications } from "@/components/notifications";
import { bumpConversation, clearUnread, type ConversationSummary, type ServerMessage } from "./messages";

// The conversation on screen in this tab (its messages are read as they come: they do
// not count as unread in the list or the header's badge).
let onScreen: number | null = null;
const screenListeners = new Set<() => void>();

export function setConversationOnScreen(id: number | null): void {
  onScreen = id;
  for (const fn of screenListeners) fn();
}

export function useConversationOnScreen(): number | null {
  return useSyncExternalStore(
    (fn) => {
      screenListeners.add(fn);
      return () => screenListeners.delete(fn);
    },
    () => onScreen,
    () => null,
  );
}

/** A chat event of the hub, if the frame is one: `message`, `read`, `message_deleted`. */
export function chatEvent(frame: HubFrame): { conversationId: number; data: Record<string, unknown> } | null {
  if (frame.type !== "event" || frame.topic !== "chat") return null;
  const data = frame.data as Record<string, unknown> | undefined;
  if (!data || typeof data.conversationId !== "number") return null;
  return { conversationId: data.conversationId, data };
}

/**
 * One's conversations with their unread counts (GET /api/conversations), kept up to date
 * by the hub: a new message moves its conversation up and counts it unread, one's own
 * read receipt (any tab) clears it; an unknown conversation or a reconnection reloads.
 */
export function useConversations(enabled: boolean, me: number | null) {
  const { hub, revision } = useNotifications();
  const [list, setList] = useState<ConversationSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  // Live messages from others (not on screen): a list answered before one of them was
  // stored must not take it back, and a late read receipt clears only what it covers.
  const live = useRef<{ conversationId: number; id: number; createdAt: string }[]>([]);

  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    const since = live.current.length;
    api.GET("/api/conversations", { params: { query: { limit: 100 } } }).then(
      ({ data, error: e }) => {
        if (!alive) return;
        if (data) {
          let next: ConversationSummary[] = data.conversations;
          for (const m of live.current.slice(since)) {
            const c = next.find((x) => x.id === m.conversationId);
            if (c && (!c.lastMessageAt || c.lastMessageAt < m.createdAt)) {
              next = bumpConversation(next, m.conversationId, { senderId: null, createdAt: m.createdAt }, me ?? 0, false, true) ?? next;
            }
          }
          setList(next);
          setError(null);
        } else setError(errorMessage(e));
      },
      (e: unknown) => alive && setError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
  }, [enabled, version, revision, me]);

  useEffect(() => {
    if (!enabled || !hub || me === null) return;
    return hub.listen((frame) => {
      if (frame.type === "ready" || (frame.type === "resumed" && frame.complete === false)) {
        reload();
        return;
      }
      const ev = chatEvent(frame);
      if (!ev) return;
      const { conversationId, data } = ev;
      if (data.type === "message" && data.message && typeof data.message === "object") {
        const message = data.message as ServerMessage;
        if (message.senderId !== me && message.senderId !== null && onScreen !== conversationId) {
          live.current.push({ conversationId, id: message.id, createdAt: message.createdAt });
        }
        setList((prev) => {
          if (!prev) return prev;
          const next = bumpConversation(prev, conversationId, message, me, onScreen === conversationId);
          if (next === null) {
            reload();
            return prev;
          }
          return next;
        });
      } else if (data.type === "read" && data.userId === me && typeof data.messageId === "number") {
        const upTo = data.messageId;
        const left = live.current.filter((m) => m.conversationId === conversationId && m.id > upTo).length;
        setList((prev) => (prev ? clearUnread(prev, conversationId, left) : prev));
      }
    });
  }, [enabled, hub, me, reload]);

  return { conversations: list, error, reload };
}
