// One websocket to the hub per tab: authenticate with the first frame, resume from the
// last offset after a reconnect, drop duplicates by eventId, reconnect with jittered
// exponential backoff (docs/API.md "The hub"). No React in here: tested with Vitest.
// The frames' types are generated from the hub's own (shared/protocol): ws-protocol.ts.

import type { Channel, HubClientFrame, HubServerFrame } from "@/lib/ws-protocol";

export type HubStatus = "idle" | "connecting" | "online" | "reconnecting" | "closed";

export type HubNotification = {
  eventId: string;
  notificationId?: number;
  kind: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  createdAt: string;
};

type Timer = ReturnType<typeof setTimeout>;

/** A frame from the hub (chat and typing events, ack, error…), for listeners. */
export type HubFrame = HubServerFrame;
export type HubListener = (frame: HubFrame) => void;

export type HubOptions = {
  url: string;
  /** A valid access token, or null when signed out. */
  getToken: () => Promise<string | null>;
  /** Refresh the access token now (4401, token_expiring). */
  refresh: () => Promise<string | null>;
  onNotification: (n: HubNotification) => void;
  /** The history may have a gap: reload GET /api/notifications. */
  onReload?: () => void;
  /** The account may no longer connect (4403). */
  onSignedOut?: () => void;
  onStatus?: (s: HubStatus) => void;
  WebSocketImpl?: new (url: string) => WebSocket;
  setTimer?: (fn: () => void, ms: number) => Timer;
  clearTimer?: (t: Timer) => void;
  random?: () => number;
  /** Keeps the last offset across reloads of the tab (sessionStorage). */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
};

const OFFSET_KEY = "nexus.hub.offset";
const MIN_DELAY = 500;
const MAX_DELAY = 30_000;

export class HubClient {
  status: HubStatus = "idle";
  offset: string | null;
  private ws: WebSocket | null = null;
  private delay = MIN_DELAY;
  private timer: Timer | null = null;
  private stopped = true;
  private seen = new Set<string>();
  private listeners = new Set<HubListener>();
  /** Channels to (re)subscribe after every `ready` (conversation:12…). */
  private channels = new Set<Channel>();
  private readonly opts: Required<Omit<HubOptions, "onReload" | "onSignedOut" | "onStatus" | "storage">> &
    Pick<HubOptions, "onReload" | "onSignedOut" | "onStatus" | "storage">;

  constructor(opts: HubOptions) {
    this.opts = {
      WebSocketImpl: globalThis.WebSocket,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t),
      random: Math.random,
      ...opts,
    };
    this.offset = opts.storage?.getItem(OFFSET_KEY) ?? null;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.opts.clearTimer(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.close(1000, "bye");
    }
    this.setStatus("idle");
  }

  /** Forget the offset (sign-out: the next user starts from now). */
  forget(): void {
    this.offset = null;
    this.seen.clear();
    this.opts.storage?.removeItem(OFFSET_KEY);
  }

  /** Reconnect now (the browser came back online). */
  kick(): void {
    if (this.stopped || this.status === "online" || this.status === "connecting") return;
    if (this.timer) this.opts.clearTimer(this.timer);
    this.timer = null;
    void this.connect();
  }

  /** Every frame but notifications (already delivered to onNotification), replayable
   * events once per eventId; `ready` too (after a reconnection, reload what may be missed). */
  listen(fn: HubListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a frame if the socket is ready; false when it is not (nothing is queued). */
  sendFrame(frame: HubClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== 1 || this.status !== "online") return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Follows a channel now and after every reconnection, until unsubscribe. */
  subscribe(channel: Channel): void {
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    this.sendFrame({ type: "subscribe", channel });
  }

  unsubscribe(channel: Channel): void {
    if (!this.channels.delete(channel)) return;
    this.sendFrame({ type: "unsubscribe", channel });
  }

  private emit(frame: HubFrame): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(frame);
      } catch {
        // A listener's failure must not stop the others or the connection.
      }
    }
  }

  private setStatus(s: HubStatus): void {
    if (this.status === s) return;
    this.status = s;
    this.opts.onStatus?.(s);
  }

  private send(frame: HubClientFrame): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const token = await this.opts.getToken();
    if (this.stopped) return;
    if (!token) {
      this.setStatus("closed");
      return;
    }
    this.setStatus(this.status === "reconnecting" ? "reconnecting" : "connecting");
    let ws: WebSocket;
    try {
      ws = new this.opts.WebSocketImpl(this.opts.url);
    } catch {
      this.retry(1006);
      return;
    }
    this.ws = ws;
    let opened = false;
    let done = false;
    const fail = (code: number) => {
      if (done || this.ws !== ws) return;
      done = true;
      this.ws = null;
      this.retry(code);
    };
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ type: "auth", token } satisfies HubClientFrame));
    };
    ws.onmessage = (message: MessageEvent) => {
      void this.onFrame(message.data);
    };
    ws.onclose = (event: CloseEvent) => fail(event.code);
    ws.onerror = () => {
      if (!opened) fail(1006);
    };
  }

  private async onFrame(raw: unknown): Promise<void> {
    let frame: HubServerFrame;
    try {
      frame = JSON.parse(String(raw)) as HubServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        this.delay = MIN_DELAY;
        this.setStatus("online");
        // Resume from the last event seen; with none yet there is no position to resume
        // from, so whatever came meanwhile (before this socket, or while the hub was
        // unreachable) is read from GET /api/notifications instead.
        if (this.offset) this.send({ type: "resume", offset: this.offset });
        else this.opts.onReload?.();
        for (const channel of this.channels) this.send({ type: "subscribe", channel });
        this.emit(frame);
        break;
      case "event": {
        if (typeof frame.offset === "string") this.keepOffset(frame.offset);
        const eventId = typeof frame.eventId === "string" && frame.eventId ? frame.eventId : null;
        if (frame.topic !== "notification") {
          // Replayable events (chat) once each; live-only ones (typing, presence) as they come.
          if (eventId && typeof frame.offset === "string") {
            if (this.seen.has(eventId)) break;
            this.seen.add(eventId);
          }
          this.emit(frame);
          break;
        }
        if (!eventId) break;
        if (this.seen.has(eventId)) break;
        this.seen.add(eventId);
        this.opts.onNotification({ ...(frame.data as unknown as HubNotification), eventId });
        break;
      }
      case "resumed":
        if (typeof frame.offset === "string") this.keepOffset(frame.offset);
        if (frame.complete === false) this.opts.onReload?.();
        this.emit(frame);
        break;
      case "token_expiring": {
        const fresh = await this.opts.refresh();
        if (fresh) this.send({ type: "auth", token: fresh });
        break;
      }
      case "error":
        if (frame.code === "history_unavailable" || frame.code === "invalid_offset") {
          if (frame.code === "invalid_offset") this.forget();
          this.opts.onReload?.();
        }
        this.emit(frame);
        break;
      default:
        this.emit(frame);
        break;
    }
  }

  private keepOffset(offset: string): void {
    this.offset = offset;
    this.opts.storage?.setItem(OFFSET_KEY, offset);
  }

  private retry(code: number): void {
    if (this.stopped) return;
    if (code === 4403) {
      this.stopped = true;
      this.setStatus("closed");
      this.opts.onSignedOut?.();
      return;
    }
    this.setStatus("reconnecting");
    const schedule = (ms: number) => {
      if (this.stopped) return;
      this.timer = this.opts.setTimer(() => void this.connect(), ms);
    };
    const wait = code === 1012 ? this.opts.random() * 2000 : Math.min(MAX_DELAY, this.delay * (1 + this.opts.random()));
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
    if (code === 4401) {
      void this.opts.refresh().then((fresh) => {
        if (!fresh) {
          this.stopped = true;
          this.setStatus("closed");
          this.opts.onSignedOut?.();
          return;
        }
        schedule(wait);
      });
      return;
    }
    schedule(wait);
  }
}
