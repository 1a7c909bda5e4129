import { describe, expect, it } from "vitest";
import { HubClient, type HubFrame } from "@/lib/hub/hub";

// The hub client's chat side: listeners get chat and typing events (chat ones once per
// eventId), ack/error frames; subscriptions are sent again after every reconnection.
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function connected() {
  FakeSocket.all = [];
  const timers: (() => void)[] = [];
  const notifications: unknown[] = [];
  const hub = new HubClient({
    url: "ws://hub/ws",
    getToken: async () => "t1",
    refresh: async () => "t2",
    onNotification: (n) => notifications.push(n),
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    setTimer: (fn) => {
      timers.push(fn);
      return 0 as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimer: () => {},
    random: () => 0,
  });
  const frames: HubFrame[] = [];
  hub.listen((f) => frames.push(f));
  hub.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.frame({ type: "ready", userId: 7, channels: ["user:7"] });
  await tick();
  return { hub, ws, frames, timers, notifications };
}

const chat = (offset: string, eventId: string, messageId: number) => ({
  type: "event",
  channel: "conversation:12",
  offset,
  eventId,
  topic: "chat",
  data: { type: "message", conversationId: 12, message: { id: messageId, clientMessageId: `c${messageId}`, body: "Bonjour" } },
});

describe("the hub's chat frames", () => {
  it("reach listeners, once per eventId; typing (no offset) every time; notifications stay apart", async () => {
    const { ws, frames, notifications } = await connected();
    ws.frame(chat("1-0", "e1", 5));
    ws.frame(chat("2-0", "e1", 5)); // at least once: the same event again
    const typing = { type: "event", channel: "conversation:12", eventId: "t1", topic: "typing", data: { conversationId: 12, userId: 2, isTyping: true } };
    ws.frame(typing);
    ws.frame(typing);
    ws.frame({ type: "ack", clientMessageId: "c-1", conversationId: 12, message: {} });
    await tick();
    const kinds = frames.map((f) => `${f.type}:${f.type === "event" ? f.topic : ""}`);
    expect(kinds).toEqual(["ready:", "event:chat", "event:typing", "event:typing", "ack:"]);
    expect(notifications).toHaveLength(0);
  });

  it("sends frames only when online, and subscribes again after a reconnection", async () => {
    const { hub, ws, timers } = await connected();
    hub.subscribe("conversation:12");
    hub.subscribe("conversation:12");
    expect(ws.sent.filter((f) => f.type === "subscribe")).toEqual([{ type: "subscribe", channel: "conversation:12" }]);
    expect(hub.sendFrame({ type: "typing", conversationId: 12, isTyping: true })).toBe(true);

    ws.drop(1006);
    expect(hub.sendFrame({ type: "typing", conversationId: 12, isTyping: true })).toBe(false);
    timers.shift()!();
    await tick();
    const again = FakeSocket.all[1]!;
    again.open();
    again.frame({ type: "ready", userId: 7, channels: ["user:7"] });
    await tick();
    expect(again.sent.filter((f) => f.type === "subscribe")).toEqual([{ type: "subscribe", channel: "conversation:12" }]);

    hub.unsubscribe("conversation:12");
    expect(again.sent.at(-1)).toEqual({ type: "unsubscribe", channel: "conversation:12" });
  });

  it("stops calling a listener once it unsubscribed, and survives a failing one", async () => {
    const { hub, ws, frames } = await connected();
    const other: HubFrame[] = [];
    hub.listen(() => {
      throw new Error("boom");
    });
    const stop = hub.listen((f) => other.push(f));
    ws.frame(chat("1-0", "e1", 5));
    stop();
    ws.frame(chat("2-0", "e2", 6));
    await tick();
    expect(other).toHaveLength(1);
    expect(frames.filter((f) => f.type === "event" && f.topic === "chat")).toHaveLength(2);
  });
});
