"use client";

import { useEffect, useId, useRef, useState } from "react";
import { formatDateTime } from "@/lib/format";
import { useNotifications } from "./notifications";

const STATUS_LABEL: Record<string, { text: string; dot: string }> = {
  online: { text: "En direct", dot: "bg-emerald-600" },
  connecting: { text: "Connexion…", dot: "bg-amber-500" },
  reconnecting: { text: "Reconnexion…", dot: "bg-amber-500" },
  closed: { text: "Hors ligne", dot: "bg-red-600" },
  idle: { text: "Hors ligne", dot: "bg-slate-400" },
};

export function ConnectionState() {
  const { status } = useNotifications();
  const s = STATUS_LABEL[status] ?? STATUS_LABEL.idle!;
  return (
    <span
      role="status"
      data-testid="connection-state"
      data-status={status}
      title={`Notifications en temps réel : ${s.text}`}
      className="inline-flex items-center gap-1.5 rounded-full border border-slate-200 px-2.5 py-1 text-sm text-slate-700 dark:border-slate-700 dark:text-slate-200"
    >
      <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${s.dot}`} />
      {/* While connecting or live, the dot alone: the header must hold the navigation on
          one line, and a pill that widened for "Connexion…" at every page load, then
          shrank once live, moved the whole page under the pointer (a click on
          "Commencer" was lost to it). A lost connection is said in words, and the banner
          below explains. */}
      <span className={status === "reconnecting" || status === "closed" ? undefined : "sr-only"}>
        <span className="sr-only">Notifications en temps réel : </span>
        {s.text}
      </span>
    </span>
  );
}

/** Under the header while the live connection is lost: what is shown may be late. */
export function ConnectionBanner() {
  const { status } = useNotifications();
  if (status !== "reconnecting" && status !== "closed") return null;
  return (
    <div className="border-b border-amber-300 bg-amber-50 px-4 py-2 text-center text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
      {status === "reconnecting"
        ? "Connexion au temps réel perdue : reconnexion en cours… Les nouvelles notifications arriveront dès qu'elle sera rétablie."
        : "Notifications en temps réel indisponibles. Rechargez la page pour réessayer."}
    </div>
  );
}

export function NotificationBell() {
  const { items, unread, markAllRead, lastLive } = useNotifications();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setOpen(false);
    };
    const onClick = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  const label = unread > 0 ? `Notifications, ${unread} non lue${unread > 1 ? "s" : ""}` : "Notifications, aucune non lue";

  return (
    <div ref={ref} className="relative">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={label}
        data-testid="notification-bell"
        onClick={() => setOpen((o) => !o)}
        className="relative rounded-md p-2 text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-6 w-6" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" strokeLinecap="round" strokeLinejoin="round" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        {unread > 0 && (
          <span
            data-testid="unread-count"
            aria-hidden="true"
            className="absolute -right-1 -top-1 min-w-5 rounded-full bg-red-700 px-1.5 text-center text-xs font-semibold leading-5 text-white"
          >
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {/* Announces live notifications to screen readers. */}
      <p aria-live="polite" className="sr-only">
        {lastLive ? `Nouvelle notification : ${lastLive.title}` : ""}
      </p>
      {open && (
        <div
          id={panelId}
          role="region"
          aria-label="Notifications"
          className="absolute right-0 z-20 mt-2 w-[min(22rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white shadow-lg dark:border-slate-700 dark:bg-slate-900"
        >
          <div className="flex items-center justify-between border-b border-slate-200 px-4 py-2 dark:border-slate-700">
            <h2 className="font-semibold">Notifications</h2>
            {unread > 0 && (
              <button
                type="button"
                onClick={() => void markAllRead()}
                className="rounded px-2 py-1 text-sm text-accent-700 hover:bg-accent-50 dark:text-accent-100 dark:hover:bg-slate-800"
              >
                Tout marquer comme lu
              </button>
            )}
          </div>
          {items.length === 0 ? (
            <p className="px-4 py-6 text-slate-600 dark:text-slate-300">Aucune notification pour le moment.</p>
          ) : (
            <ul className="max-h-96 divide-y divide-slate-100 overflow-y-auto dark:divide-slate-800" data-testid="notification-list">
              {items.map((n) => (
                <li key={n.eventId} className="px-4 py-3">
                  <p className={n.readAt ? "text-slate-700 dark:text-slate-300" : "font-semibold"}>{n.title}</p>
                  {n.body && <p className="text-sm text-slate-600 dark:text-slate-300">{n.body}</p>}
                  <p className="text-xs text-slate-600 dark:text-slate-400">{formatDateTime(n.createdAt)}</p>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
