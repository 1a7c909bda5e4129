import { describe, expect, it } from "vitest";
import {
  applyPresence,
  applyRead,
  bumpConversation,
  clearUnread,
  fromServer,
  lastOwnRead,
  loadPending,
  markDeleted,
  mergeMessages,
  nameOf,
  newClientMessageId,
  newestFromOthers,
  oldestId,
  presenceFromList,
  savePending,
  typingLabel,
  unreadTotal,
  type ChatMessage,
  type ConversationSummary,
  type ServerMessage,
} from "@/lib/chat/messages";
import { listTime, messageTime } from "@/lib/chat/time";

const ME = 7;
const TEACHER = 2;

function stored(id: number, senderId: number, body = `m${id}`, clientMessageId = `c${id}`): ServerMessage {
  return {
    id,
    conversationId: 12,
    senderId,
    senderName: senderId === ME ? "Léa Dupont" : "Paul Lefèvre",
    clientMessageId,
    body,
    createdAt: new Date(Date.UTC(2026, 11, 2, 10, 0, id)).toISOString(),
    deleted: false,
  };
}

function pending(clientMessageId: string, body: string, status: "sending" | "failed" = "sending", at = "2026-12-02T11:00:00.000Z"): ChatMessage {
  return { id: null, conversationId: 12, senderId: ME, senderName: "Léa Dupont", clientMessageId, body, createdAt: at, deleted: false, status };
}

const ids = (ms: ChatMessage[]) => ms.map((m) => m.id ?? m.clientMessageId);

describe("merging messages", () => {
  it("shows the history, which the API gives newest first, oldest to newest", () => {
    const history = [stored(5, TEACHER), stored(4, ME), stored(3, TEACHER)].map(fromServer);
    expect(ids(mergeMessages([], history))).toEqual([3, 4, 5]);
  });

  it("drops a message that comes twice (the hub delivers at least once; REST and hub both bring it)", () => {
    const once = mergeMessages([], [fromServer(stored(3, TEACHER))]);
    const twice = mergeMessages(once, [fromServer(stored(3, TEACHER)), fromServer(stored(3, TEACHER))]);
    expect(ids(twice)).toEqual([3]);
  });

  it("replaces the optimistic copy with the stored one, by client message id, whichever arrives first", () => {
    const optimistic = mergeMessages([fromServer(stored(3, TEACHER))], [pending("web-a", "Bonjour")]);
    expect(optimistic.map((m) => m.status)).toEqual(["sent", "sending"]);
    // The hub's event (or the POST's answer) with the stored message.
    const merged = mergeMessages(optimistic, [fromServer(stored(9, ME, "Bonjour", "web-a"))]);
    expect(ids(merged)).toEqual([3, 9]);
    expect(merged[1]!.status).toBe("sent");
    // A late "failed" (the POST's answer lost after the hub delivered it) does not undo it.
    expect(mergeMessages(merged, [pending("web-a", "Bonjour", "failed")])[1]!.status).toBe("sent");
  });

  it("keeps messages not stored yet after the stored ones, in the order they were written", () => {
    const merged = mergeMessages(
      [pending("web-b", "deux", "failed", "2026-12-02T11:00:02.000Z"), pending("web-a", "un", "sending", "2026-12-02T11:00:01.000Z")],
      [fromServer(stored(10, TEACHER)), fromServer(stored(8, ME))],
    );
    expect(ids(merged)).toEqual([8, 10, "web-a", "web-b"]);
  });

  it("orders live messages that arrive out of order (a resume replays older ones) by id", () => {
    let ms = mergeMessages([], [fromServer(stored(7, TEACHER))]);
    ms = mergeMessages(ms, [fromServer(stored(5, TEACHER))]);
    ms = mergeMessages(ms, [fromServer(stored(6, ME))]);
    expect(ids(ms)).toEqual([5, 6, 7]);
  });

  it("tells the same client id from two senders apart", () => {
    const ms = mergeMessages([], [fromServer(stored(1, ME, "a", "c-1")), fromServer(stored(2, TEACHER, "b", "c-1"))]);
    expect(ids(ms)).toEqual([1, 2]);
  });

  it("a retry goes back to sending, then failed again, with the same client id", () => {
    let ms = mergeMessages([], [pending("web-a", "x", "failed")]);
    ms = mergeMessages(ms, [pending("web-a", "x", "sending")]);
    expect(ms.map((m) => m.status)).toEqual(["sending"]);
    ms = mergeMessages(ms, [pending("web-a", "x", "failed")]);
    expect(ms.map((m) => m.status)).toEqual(["failed"]);
  });

  it("a moderator's deletion empties the message and stays deleted", () => {
    let ms = mergeMessages([], [fromServer(stored(4, TEACHER))]);
    ms = markDeleted(ms, 4);
    expect(ms[0]).toMatchObject({ deleted: true, body: "" });
    ms = mergeMessages(ms, [fromServer(stored(4, TEACHER))]);
    expect(ms[0]!.deleted).toBe(true);
  });

  it("finds where the next page starts and what to mark read", () => {
    const ms = mergeMessages([], [stored(4, ME), stored(5, TEACHER), stored(6, ME)].map(fromServer).concat(pending("web-z", "z")));
    expect(oldestId(ms)).toBe(4);
    expect(newestFromOthers(ms, ME)).toBe(5);
    expect(newestFromOthers([], ME)).toBeNull();
  });

  it("gives fresh client ids", () => {
    const a = newClientMessageId();
    expect(a).toMatch(/^web-/);
    expect(a).not.toBe(newClientMessageId());
    expect(a.length).toBeLessThanOrEqual(100);
  });
});

describe("read receipts", () => {
  it("never go back", () => {
    let marks = applyRead({}, TEACHER, 5);
    marks = applyRead(marks, TEACHER, 3);
    expect(marks[TEACHER]).toBe(5);
    expect(applyRead(marks, TEACHER, 5)).toBe(marks);
  });

  it("show Lu under one's last message once someone else read up to it", () => {
    const ms = [stored(3, TEACHER), stored(4, ME), stored(5, ME)].map(fromServer);
    expect(lastOwnRead(ms, ME, {})).toEqual({ messageId: 5, read: false });
    expect(lastOwnRead(ms, ME, { [TEACHER]: 4 })).toEqual({ messageId: 5, read: false });
    expect(lastOwnRead(ms, ME, { [TEACHER]: 5 })).toEqual({ messageId: 5, read: true });
    // One's own receipt (another tab) does not count.
    expect(lastOwnRead(ms, ME, { [ME]: 9 })).toEqual({ messageId: 5, read: false });
  });

  it("count an answer written after one's message as read (the API gives receipts only live)", () => {
    const ms = [stored(4, ME), stored(6, TEACHER)].map(fromServer);
    expect(lastOwnRead(ms, ME, {})).toEqual({ messageId: 4, read: true });
  });

  it("are about stored messages only", () => {
    expect(lastOwnRead([pending("web-a", "x")], ME, { [TEACHER]: 99 })).toBeNull();
  });
});

describe("typing", () => {
  it("names who types from the messages, else the direct conversation's title", () => {
    const ms = [stored(3, TEACHER)].map(fromServer);
    expect(nameOf(TEACHER, ms, null)).toBe("Paul Lefèvre");
    expect(nameOf(42, [], "Mme Dubois")).toBe("Mme Dubois");
    expect(nameOf(42, [], null)).toBe("Quelqu'un");
  });

  it("says it in French", () => {
    expect(typingLabel([])).toBe("");
    expect(typingLabel(["Paul Lefèvre"])).toBe("Paul Lefèvre écrit…");
    expect(typingLabel(["A", "B"])).toBe("A et B écrivent…");
    expect(typingLabel(["A", "B", "C"])).toBe("3 personnes écrivent…");
  });
});

describe("the conversation list", () => {
  const list: ConversationSummary[] = [
    { id: 1, kind: "direct", title: "Paul Lefèvre", unread: 0, lastMessageAt: "2026-12-01T10:00:00Z" },
    { id: 2, kind: "class", classId: 4, title: "Terminale NSI", unread: 2, lastMessageAt: "2026-12-02T10:00:00Z" },
  ];

  it("moves a conversation up and counts a message from someone else", () => {
    const next = bumpConversation(list, 1, { senderId: TEACHER, createdAt: "2026-12-02T12:00:00Z" }, ME, false)!;
    expect(next.map((c) => c.id)).toEqual([1, 2]);
    expect(next[0]!.unread).toBe(1);
    expect(unreadTotal(next)).toBe(3);
  });

  it("does not count one's own messages, nor those of the conversation on screen", () => {
    expect(bumpConversation(list, 1, { senderId: ME, createdAt: "x" }, ME, false)![0]!.unread).toBe(0);
    expect(bumpConversation(list, 1, { senderId: TEACHER, createdAt: "x" }, ME, true)![0]!.unread).toBe(0);
  });

  it("asks for a reload when the conversation is new", () => {
    expect(bumpConversation(list, 99, { senderId: TEACHER, createdAt: "x" }, ME, false)).toBeNull();
  });

  it("clears a conversation's count on one's own receipt", () => {
    expect(unreadTotal(clearUnread(list, 2))).toBe(0);
  });

  it("keeps what a late receipt does not cover, and re-applies a live message a list answered before it", () => {
    // A receipt up to an older message arrives after a newer one: that one stays unread.
    expect(clearUnread(list, 2, 1).find((c) => c.id === 2)!.unread).toBe(1);
    // Re-applied from the live log (the caller checked it is newer than the list's last message).
    const again = bumpConversation(list, 1, { senderId: null, createdAt: "2026-12-02T12:00:00Z" }, ME, false, true)!;
    expect(again[0]).toMatchObject({ id: 1, unread: 1 });
  });
});

describe("unsent messages across a reload", () => {
  class MemoryStorage {
    m = new Map<string, string>();
    getItem(k: string) {
      return this.m.get(k) ?? null;
    }
    setItem(k: string, v: string) {
      this.m.set(k, v);
    }
    removeItem(k: string) {
      this.m.delete(k);
    }
  }

  it("keeps what is not stored, comes back as failed (to retry), forgets once stored", () => {
    const s = new MemoryStorage();
    savePending(s, "k", [fromServer(stored(1, ME)), pending("web-a", "en route")]);
    const back = loadPending(s, "k");
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ clientMessageId: "web-a", body: "en route", status: "failed", id: null });
    // Stored meanwhile (the answer was lost): the history's copy replaces it.
    const merged = mergeMessages(back, [fromServer(stored(8, ME, "en route", "web-a"))]);
    expect(merged.map((m) => m.status)).toEqual(["sent"]);
    savePending(s, "k", merged);
    expect(s.getItem("k")).toBeNull();
  });

  it("ignores what it cannot read", () => {
    const s = new MemoryStorage();
    s.setItem("k", "{pas du json");
    expect(loadPending(s, "k")).toEqual([]);
    s.setItem("k", JSON.stringify([{ nope: 1 }, "x"]));
    expect(loadPending(s, "k")).toEqual([]);
    expect(loadPending(null, "k")).toEqual([]);
  });
});

describe("chat times", () => {
  const now = new Date("2026-12-02T17:40:00Z"); // 18 h 40 in Paris

  it("show the time only for today, in Paris, 24 h, on one line", () => {
    expect(messageTime("2026-12-02T17:05:00Z", now)).toBe("18\u00a0h\u00a005");
    expect(listTime("2026-12-02T07:05:00Z", now)).toBe("08\u00a0h\u00a005");
  });

  it("add the day otherwise", () => {
    expect(messageTime("2026-12-01T13:30:00Z", now)).toBe("mardi 1 décembre à 14\u00a0h\u00a030");
    expect(listTime("2026-11-28T13:30:00Z", now)).toBe("28\u00a0nov.");
  });

  it("count the day in Paris, not in UTC", () => {
    // 23 h 30 UTC on 1 December is 00 h 30 on 2 December in Paris: today.
    expect(messageTime("2026-12-01T23:30:00Z", now)).toBe("00\u00a0h\u00a030");
  });
});

describe("presence in a conversation", () => {
  it("starts from the subscription's list, without oneself", () => {
    expect(presenceFromList([{ userId: 2 }, { userId: ME }, { userId: 2 }, { nope: 1 }], ME)).toEqual([2]);
    expect(presenceFromList(undefined, ME)).toEqual([]);
  });

  it("follows join and leave, ignoring activity and oneself", () => {
    let online = applyPresence([], { kind: "join", userId: 2 }, ME);
    expect(online).toEqual([2]);
    expect(applyPresence(online, { kind: "join", userId: 2 }, ME)).toBe(online);
    expect(applyPresence(online, { kind: "activity", userId: 5 }, ME)).toBe(online);
    expect(applyPresence(online, { kind: "join", userId: ME }, ME)).toBe(online);
    online = applyPresence(online, { kind: "leave", userId: 2 }, ME);
    expect(online).toEqual([]);
  });
});
