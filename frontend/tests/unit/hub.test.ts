import { beforeEach, describe, expect, it, vi } from "vitest";
import { HubClient, type HubNotification, type HubStatus } from "@/lib/hub/hub";

// A WebSocket double: records what the client sends, lets the test play the server.
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

const tick = () => new Promise((r) => setTimeout(r, 0));

function event(offset: string, eventId: string, title = "Nouveau quiz") {
  return {
    type: "event",
    channel: "user:3",
    offset,
    eventId,
    topic: "notification",
    data: { eventId, kind: "assessment_published", title, body: "", createdAt: "2026-12-02T10:00:00Z" },
  };
}

function setup(overrides: { token?: () => Promise<string | null>; refresh?: () => Promise<string | null>; storage?: MemoryStorage } = {}) {
  const timers: { fn: () => void; ms: number }[] = [];
  const received: HubNotification[] = [];
  const statuses: HubStatus[] = [];
  const onReload = vi.fn();
  const onSignedOut = vi.fn();
  const refresh = vi.fn(overrides.refresh ?? (async () => "t2"));
  const storage = overrides.storage ?? new MemoryStorage();
  const hub = new HubClient({
    url: "ws://hub/ws",
    getToken: overrides.token ?? (async () => "t1"),
    refresh,
    onNotification: (n) => received.push(n),
    onReload,
    onSignedOut,
    onStatus: (s) => statuses.push(s),
    WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return 0 as unknown as ReturnType<typeof setTimeout>;
    },
    clearTimer: () => {},
    random: () => 0.5,
    storage,
  });
  const fire = async () => {
    const t = timers.shift();
    if (!t) throw new Error("no timer");
    t.fn();
    await tick();
    return t.ms;
  };
  return { hub, timers, received, statuses, onReload, onSignedOut, refresh, storage, fire };
}

beforeEach(() => {
  FakeSocket.all = [];
});

describe("HubClient", () => {
  it("authenticates with the first frame; with no offset yet, reloads the list instead of resuming", async () => {
    const { hub, statuses, onReload } = setup();
    hub.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    expect(ws.url).toBe("ws://hub/ws");
    ws.open();
    expect(ws.sent).toEqual([{ type: "auth", token: "t1" }]);
    ws.frame({ type: "ready", userId: 3, channels: ["user:3"] });
    expect(ws.sent).toHaveLength(1);
    expect(onReload).toHaveBeenCalledTimes(1);
    expect(statuses).toEqual(["connecting", "online"]);
  });

  it("a drop before any event: the reconnection reloads the list (nothing to resume from)", async () => {
    const { hub, onReload, fire } = setup();
    hub.start();
    await tick();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.frame({ type: "ready" });
    FakeSocket.all[0]!.drop(1006);
    await fire();
    const ws = FakeSocket.all[1]!;
    ws.open();
    ws.frame({ type: "ready" });
    expect(ws.sent).toEqual([{ type: "auth", token: "t1" }]);
    expect(onReload).toHaveBeenCalledTimes(2);
  });

  it("after a drop: reconnects with backoff and resumes from the last offset", async () => {
    const { hub, received, timers, fire, storage } = setup();
    hub.start();
    await tick();
    const first = FakeSocket.all[0]!;
    first.open();
    first.frame({ type: "ready" });
    first.frame(event("100-0", "e1"));
    first.frame(event("101-0", "e2"));
    expect(received.map((n) => n.eventId)).toEqual(["e1", "e2"]);
    expect(storage.getItem("nexus.hub.offset")).toBe("101-0");

    first.drop(1006);
    expect(hub.status).toBe("reconnecting");
    expect(timers[0]!.ms).toBe(750); // 500 ms × (1 + jitter 0.5)
    await fire();
    const second = FakeSocket.all[1]!;
    second.open();
    second.frame({ type: "ready" });
    expect(second.sent).toEqual([
      { type: "auth", token: "t1" },
      { type: "resume", offset: "101-0" },
    ]);
    // The replay may repeat an event already shown: dropped by eventId.
    second.frame(event("101-0", "e2"));
    second.frame(event("102-0", "e3"));
    second.frame({ type: "resumed", complete: true, offset: "102-0" });
    expect(received.map((n) => n.eventId)).toEqual(["e1", "e2", "e3"]);
    expect(hub.offset).toBe("102-0");
    expect(hub.status).toBe("online");
  });

  it("resumes after a page reload from the offset kept in sessionStorage", async () => {
    const storage = new MemoryStorage();
    storage.setItem("nexus.hub.offset", "55-0");
    const { hub } = setup({ storage });
    hub.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.frame({ type: "ready" });
    expect(ws.sent[1]).toEqual({ type: "resume", offset: "55-0" });
  });

  it("an incomplete history asks for a reload of GET /api/notifications", async () => {
    const storage = new MemoryStorage();
    storage.setItem("nexus.hub.offset", "5-0");
    const { hub, onReload } = setup({ storage });
    hub.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.frame({ type: "ready" });
    expect(onReload).not.toHaveBeenCalled();
    ws.frame({ type: "resumed", complete: false, offset: "9-0" });
    expect(onReload).toHaveBeenCalledTimes(1);
    ws.frame({ type: "error", code: "history_unavailable", message: "…" });
    expect(onReload).toHaveBeenCalledTimes(2);
  });

  it("backoff doubles up to 30 s and resets after ready", async () => {
    const { hub, timers, fire } = setup();
    hub.start();
    await tick();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      FakeSocket.all.at(-1)!.drop(1006);
      waits.push(timers[0]!.ms);
      await fire();
    }
    expect(waits).toEqual([750, 1500, 3000, 6000, 12000, 24000, 30000, 30000]);
    const ws = FakeSocket.all.at(-1)!;
    ws.open();
    ws.frame({ type: "ready" });
    ws.drop(1006);
    expect(timers[0]!.ms).toBe(750);
  });

  it("1012 (hub restarting): reconnects within 2 s whatever the backoff", async () => {
    const { hub, timers } = setup();
    hub.start();
    await tick();
    FakeSocket.all[0]!.drop(1012);
    expect(timers[0]!.ms).toBe(1000);
  });

  it("4401: refreshes the token, then reconnects with the new one", async () => {
    let token = "t1";
    const { hub, refresh, fire } = setup({
      token: async () => token,
      refresh: async () => {
        token = "t2";
        return "t2";
      },
    });
    hub.start();
    await tick();
    FakeSocket.all[0]!.drop(4401);
    await tick();
    expect(refresh).toHaveBeenCalledTimes(1);
    await fire();
    const ws = FakeSocket.all[1]!;
    ws.open();
    expect(ws.sent[0]).toEqual({ type: "auth", token: "t2" });
  });

  it("4401 with a refused refresh, and 4403: stop and sign out", async () => {
    const a = setup({ refresh: async () => null });
    a.hub.start();
    await tick();
    FakeSocket.all[0]!.drop(4401);
    await tick();
    expect(a.onSignedOut).toHaveBeenCalledTimes(1);
    expect(a.timers).toHaveLength(0);
    expect(a.hub.status).toBe("closed");

    FakeSocket.all = [];
    const b = setup();
    b.hub.start();
    await tick();
    FakeSocket.all[0]!.drop(4403);
    expect(b.onSignedOut).toHaveBeenCalledTimes(1);
    expect(b.timers).toHaveLength(0);
  });

  it("token_expiring: sends the refreshed token in an auth frame on the same socket", async () => {
    const { hub, refresh } = setup();
    hub.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.frame({ type: "ready" });
    ws.frame({ type: "token_expiring", expiresAt: 1 });
    await tick();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(ws.sent.at(-1)).toEqual({ type: "auth", token: "t2" });
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("stop() closes the socket and cancels reconnection", async () => {
    const { hub, timers } = setup();
    hub.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    hub.stop();
    expect(ws.readyState).toBe(3);
    expect(hub.status).toBe("idle");
    expect(timers).toHaveLength(0);
  });
});
