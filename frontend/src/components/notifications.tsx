"use client";

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { api, signOut, tokens, type Schemas } from "@/lib/api/client";
import { HubClient, type HubNotification, type HubStatus } from "@/lib/hub/hub";
import { useSession } from "./session";

export type Notification = Pick<Schemas["NotificationView"], "eventId" | "kind" | "title" | "body" | "createdAt"> & {
  id?: number;
  readAt?: string | null;
};

type NotificationsState = {
  items: Notification[];
  unread: number;
  status: HubStatus;
  /** The last live notification (announced to screen readers). */
  lastLive: HubNotification | null;
  /** Bumped on every live notification and every catch-up after a reconnection:
   * pages reload their data when it changes. */
  revision: number;
  markAllRead: () => Promise<void>;
  reload: () => Promise<void>;
  /** The tab's one hub connection (chat, typing, subscriptions), null when signed out. */
  hub: HubClient | null;
};

const Ctx = createContext<NotificationsState>({
  items: [],
  unread: 0,
  status: "idle",
  lastLive: null,
  revision: 0,
  markAllRead: async () => {},
  reload: async () => {},
  hub: null,
});

export function hubUrl(): string {
  const configured = process.env.NEXT_PUBLIC_HUB_URL ?? "ws://127.0.0.1:8080/ws";
  if (configured.startsWith("/")) {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${window.location.host}${configured}`;
  }
  return configured;
}

export function NotificationsProvider({ children }: { children: React.ReactNode }) {
  const { user } = useSession();
  const userId = user?.id ?? null;
  const [items, setItems] = useState<Notification[]>([]);
  const [unread, setUnread] = useState(0);
  const [status, setStatus] = useState<HubStatus>("idle");
  const [lastLive, setLastLive] = useState<HubNotification | null>(null);
  const [revision, setRevision] = useState(0);
  const [hub, setHub] = useState<HubClient | null>(null);
  const known = useRef(new Set<string>());
  // The live notifications counted, in order: a reload whose answer was read before one
  // of them was stored must not take it back (its count and list are older than it).
  const liveLog = useRef<Notification[]>([]);

  const reload = useCallback(() => {
    const since = liveLog.current.length;
    return api.GET("/api/notifications", { params: { query: { limit: 10 } } }).then(({ data }) => {
      if (data) {
        const listed = new Set(data.notifications.map((n) => n.eventId));
        const newer = liveLog.current.slice(since).filter((n) => !listed.has(n.eventId));
        for (const n of data.notifications) known.current.add(n.eventId);
        setItems([...newer.reverse(), ...data.notifications].slice(0, 20));
        setUnread(Number(data.unreadCount) + newer.length);
      }
    });
  }, []);

  useEffect(() => {
    if (userId === null) {
      known.current.clear();
      liveLog.current = [];
      return;
    }
    void reload();
    const client = new HubClient({
      url: hubUrl(),
      getToken: () => tokens.getToken(),
      refresh: () => tokens.refreshNow(),
      storage: window.sessionStorage,
      onStatus: setStatus,
      onReload: () => {
        void reload();
        setRevision((r) => r + 1);
      },
      onSignedOut: () => void signOut(),
      onNotification: (n) => {
        setLastLive(n);
        setRevision((r) => r + 1);
        if (known.current.has(n.eventId)) return;
        known.current.add(n.eventId);
        const item: Notification = { ...n, id: n.notificationId, readAt: null };
        liveLog.current.push(item);
        setUnread((u) => u + 1);
        setItems((prev) => [item, ...prev].slice(0, 20));
      },
    });
    setHub(client);
    client.start();
    const online = () => client.kick();
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      client.stop();
      setHub(null);
    };
  }, [userId, reload]);

  useEffect(() => {
    // Signing out forgets the stream position: the next account starts from now.
    if (userId === null) window.sessionStorage.removeItem("nexus.hub.offset");
  }, [userId]);

  const markAllRead = useCallback(async () => {
    const { error } = await api.POST("/api/notifications/read-all");
    if (!error) {
      setUnread(0);
      setItems((prev) => prev.map((n) => ({ ...n, readAt: n.readAt ?? new Date().toISOString() })));
    }
  }, []);

  // Signed out: nothing to show (the state is left as is and replaced at the next sign-in).
  const signedIn = userId !== null;
  const value = useMemo(
    () => ({
      items: signedIn ? items : [],
      unread: signedIn ? unread : 0,
      status: signedIn ? status : ("idle" as const),
      lastLive: signedIn ? lastLive : null,
      revision,
      markAllRead,
      reload,
      hub: signedIn ? hub : null,
    }),
    [signedIn, items, unread, status, lastLive, revision, markAllRead, reload, hub],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useNotifications(): NotificationsState {
  return useContext(Ctx);
}
