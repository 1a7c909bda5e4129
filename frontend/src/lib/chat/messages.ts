// The client's view of a conversation: messages from the history (REST, newest first),
// from the hub (live, at least once, maybe out of order after a resume) and the ones
// this tab is sending (optimistic). Pure functions: tested with Vitest.
import type { Schemas } from "@/lib/api/client";

export type ServerMessage = Schemas["MessageView"];

/** `sent`: stored by the API; `sending`: on its way; `failed`: kept here, to retry. */
export type MessageStatus = "sent" | "sending" | "failed";

export type ChatMessage = Omit<ServerMessage, "id"> & {
  /** The API's id; null while not stored. */
  id: number | null;
  status: MessageStatus;
};

/** A client message id: unique per message, reused when the same message is sent again. */
export function newClientMessageId(random: () => string = defaultRandom): string {
  return `web-${random()}`;
}

function defaultRandom(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Identity of a message whatever its state: the API keeps one message per sender and
 * client message id (a retry returns the stored one). */
function keyOf(m: Pick<ChatMessage, "senderId" | "clientMessageId">): string {
  return `${m.senderId ?? "?"}:${m.clientMessageId}`;
}

export function fromServer(m: ServerMessage): ChatMessage {
  return { ...m, status: "sent" };
}

/**
 * Merges messages into a conversation: one per (sender, client message id) — a stored
 * copy replaces the pending one, a later copy of a stored message updates it (a
 * moderator's deletion) — in the order everyone sees: stored ones by id, then the ones
 * not stored yet in the order they were written.
 */
export function mergeMessages(current: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  const byKey = new Map<string, ChatMessage>();
  for (const m of current) byKey.set(keyOf(m), m);
  for (const m of incoming) {
    const key = keyOf(m);
    const had = byKey.get(key);
    if (!had) {
      byKey.set(key, m);
    } else if (m.status === "sent") {
      // The stored copy wins; a deletion is never undone by an older copy.
      byKey.set(key, had.status === "sent" && had.deleted && !m.deleted ? had : m);
    } else if (had.status !== "sent") {
      byKey.set(key, m); // sending ↔ failed
    }
  }
  return sortMessages([...byKey.values()]);
}

export function sortMessages(messages: ChatMessage[]): ChatMessage[] {
  return messages.sort((a, b) => {
    if (a.id !== null && b.id !== null) return a.id - b.id;
    if (a.id !== null) return -1;
    if (b.id !== null) return 1;
    return a.createdAt.localeCompare(b.createdAt);
  });
}

/** A moderator deleted a message: its text is gone for everyone. */
export function markDeleted(messages: readonly ChatMessage[], messageId: number): ChatMessage[] {
  return messages.map((m) => (m.id === messageId ? { ...m, body: "", deleted: true } : m));
}

/** The oldest stored message's id: where the next page of history starts. */
export function oldestId(messages: readonly ChatMessage[]): number | null {
  let oldest: number | null = null;
  for (const m of messages) if (m.id !== null && (oldest === null || m.id < oldest)) oldest = m.id;
  return oldest;
}

/** The newest stored message written by someone else (what a read receipt points at). */
export function newestFromOthers(messages: readonly ChatMessage[], me: number): number | null {
  let newest: number | null = null;
  for (const m of messages) {
    if (m.id !== null && m.senderId !== me && (newest === null || m.id > newest)) newest = m.id;
  }
  return newest;
}

/** Read receipts: how far each member has read (message id), never going back. */
export type ReadMarks = Readonly<Record<number, number>>;

export function applyRead(marks: ReadMarks, userId: number, messageId: number): ReadMarks {
  if ((marks[userId] ?? 0) >= messageId) return marks;
  return { ...marks, [userId]: messageId };
}

/**
 * Whether one's last stored message was read by someone else: a receipt up to it or
 * past it, or an answer written after it (whoever answered had it on screen). The API
 * does not tell the other side's receipt when a conversation is loaded, only live.
 */
export function lastOwnRead(messages: readonly ChatMessage[], me: number, marks: ReadMarks): { messageId: number; read: boolean } | null {
  let last: ChatMessage | null = null;
  for (const m of messages) if (m.senderId === me && m.id !== null && (!last || m.id > (last.id ?? 0))) last = m;
  if (!last || last.id === null) return null;
  const id = last.id;
  const receipt = Object.entries(marks).some(([user, upTo]) => Number(user) !== me && upTo >= id);
  const answered = messages.some((m) => m.id !== null && m.id > id && m.senderId !== me && m.senderId !== null);
  return { messageId: id, read: receipt || answered };
}

/** The name shown for someone typing: from the messages, the direct conversation's
 * title (the other person), else a neutral word. */
export function nameOf(userId: number, messages: readonly ChatMessage[], directTitle: string | null): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.senderId === userId && m.senderName) return m.senderName;
  }
  return directTitle || "Quelqu'un";
}

/** "Paul Lefèvre écrit…", "Paul Lefèvre et Inès Moreau écrivent…". */
export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} écrit…`;
  if (names.length === 2) return `${names[0]} et ${names[1]} écrivent…`;
  return `${names.length} personnes écrivent…`;
}

export type ConversationSummary = Schemas["ConversationSummary"];

/** A live message changes the list: the conversation moves up, and counts as unread
 * unless it is one's own or the one on screen. Unknown conversation: null (reload). */
export function bumpConversation(
  list: readonly ConversationSummary[],
  conversationId: number,
  message: Pick<ServerMessage, "senderId" | "createdAt">,
  me: number,
  onScreen: boolean,
  /** Count it whoever sent it (re-applying a live message the caller already checked). */
  force = false,
): ConversationSummary[] | null {
  const found = list.find((c) => c.id === conversationId);
  if (!found) return null;
  const counts = force || (message.senderId !== me && message.senderId !== null && !onScreen);
  const updated = { ...found, lastMessageAt: message.createdAt, unread: Number(found.unread) + (counts ? 1 : 0) };
  return [updated, ...list.filter((c) => c.id !== conversationId)];
}

/** One's own receipt (from this tab or another): nothing left unread there, but the
 * `left` messages known to be newer than what it covers. */
export function clearUnread(list: readonly ConversationSummary[], conversationId: number, left = 0): ConversationSummary[] {
  return list.map((c) => (c.id === conversationId && Number(c.unread) !== left ? { ...c, unread: left } : c));
}

export function unreadTotal(list: readonly ConversationSummary[]): number {
  return list.reduce((sum, c) => sum + Number(c.unread), 0);
}

/** Unsent messages survive a reload (localStorage), per user and conversation. */
export function pendingKey(userId: number, conversationId: number): string {
  return `nexus.chat.pending.${userId}.${conversationId}`;
}

export function loadPending(storage: Pick<Storage, "getItem"> | null, key: string): ChatMessage[] {
  if (!storage) return [];
  try {
    const parsed: unknown = JSON.parse(storage.getItem(key) ?? "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((m): m is ChatMessage => !!m && typeof m === "object" && typeof m.clientMessageId === "string" && typeof m.body === "string")
      .map((m) => ({ ...m, id: null, status: "failed" as const }));
  } catch {
    return [];
  }
}

export function savePending(storage: Pick<Storage, "setItem" | "removeItem"> | null, key: string, messages: readonly ChatMessage[]): void {
  if (!storage) return;
  const unsent = messages.filter((m) => m.status !== "sent");
  try {
    if (unsent.length === 0) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(unsent));
  } catch {
    // Storage full or refused: the message stays on screen for this visit.
  }
}

/** Who else is in the conversation now (the hub's presence on `conversation:{id}`):
 * the list of a `subscribed` answer, then `join` and `leave` events. */
export function presenceFromList(list: unknown, me: number): number[] {
  if (!Array.isArray(list)) return [];
  const ids = list
    .map((p: unknown) => (p && typeof p === "object" ? (p as { userId?: unknown }).userId : undefined))
    .filter((id): id is number => typeof id === "number" && id !== me);
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function applyPresence(online: readonly number[], data: { kind?: unknown; userId?: unknown }, me: number): readonly number[] {
  const user = data.userId;
  if (typeof user !== "number" || user === me) return online;
  if (data.kind === "join" && !online.includes(user)) return [...online, user].sort((a, b) => a - b);
  if (data.kind === "leave" && online.includes(user)) return online.filter((u) => u !== user);
  return online;
}
