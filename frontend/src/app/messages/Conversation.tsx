"use client";

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { api, errorMessage, type SessionUser } from "@/lib/api/client";
import { formatDateTime } from "@/lib/format";
import { messageTime } from "@/lib/chat/time";
import {
  applyPresence,
  applyRead,
  fromServer,
  lastOwnRead,
  loadPending,
  markDeleted,
  mergeMessages,
  nameOf,
  newClientMessageId,
  newestFromOthers,
  oldestId,
  pendingKey,
  presenceFromList,
  savePending,
  typingLabel,
  type ChatMessage,
  type ReadMarks,
  type ServerMessage,
} from "@/lib/chat/messages";
import { chatEvent, setConversationOnScreen } from "@/lib/chat/useConversations";
import { useNotifications } from "@/components/notifications";
import { Button, ErrorAlert } from "@/components/ui";
import type { Channel } from "@/lib/ws-protocol";

const PAGE = 30;
/** A typing indicator not renewed within this time is dropped (its "stop" may be lost). */
const TYPING_SHOWN_MS = 6000;
/** Typing frames while typing: at most one per this interval (the hub's chat limit). */
const TYPING_EVERY_MS = 3000;
const TYPING_IDLE_MS = 4000;

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function Conversation({
  id,
  me,
  title,
  kind,
}: {
  id: number;
  me: SessionUser;
  title: string;
  kind: string | null;
}) {
  const { hub } = useNotifications();
  const key = pendingKey(me.id, id);
  const [messages, setMessages] = useState<ChatMessage[]>(() => loadPending(storage(), key));
  const [marks, setMarks] = useState<ReadMarks>({});
  const [typing, setTyping] = useState<Record<number, number>>({});
  const [online, setOnline] = useState<readonly number[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [hasMore, setHasMore] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [sendError, setSendError] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [now, setNow] = useState(() => Date.now());

  // Scrolling: follow new messages while the reader is at the bottom; keep the place
  // when older ones are added above.
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const keepScroll = useRef(false);

  // ---------------------------------------------------------------- history
  const loadedOnce = useRef(false);
  const fetchLatest = useCallback(
    () =>
      api
        .GET("/api/conversations/{id}/messages", { params: { path: { id }, query: { limit: PAGE } } })
        .catch((e: unknown) => ({ data: undefined, error: e })),
    [id],
  );
  const applyLatest = useCallback(({ data, error }: Awaited<ReturnType<typeof fetchLatest>>) => {
    if (data) {
      const first = !loadedOnce.current;
      loadedOnce.current = true;
      setMessages((prev) => mergeMessages(prev, data.messages.map(fromServer)));
      if (first) setHasMore(data.messages.length === PAGE);
      setLoadError(null);
      setLoaded(true);
    } else setLoadError(errorMessage(error));
  }, []);

  useEffect(() => {
    let alive = true;
    void fetchLatest().then((result) => {
      if (alive) applyLatest(result);
    });
    return () => {
      alive = false;
    };
  }, [fetchLatest, applyLatest]);

  const [loadingOlder, setLoadingOlder] = useState(false);
  async function loadOlder() {
    const before = oldestId(messages);
    if (before === null) return;
    setLoadingOlder(true);
    keepScroll.current = true;
    const { data, error } = await api
      .GET("/api/conversations/{id}/messages", { params: { path: { id }, query: { limit: PAGE, before } } })
      .catch((e: unknown) => ({ data: undefined, error: e }));
    setLoadingOlder(false);
    if (data) {
      setMessages((prev) => mergeMessages(prev, data.messages.map(fromServer)));
      setHasMore(data.messages.length === PAGE);
    } else setLoadError(errorMessage(error));
  }

  // Unsent messages survive a reload.
  useEffect(() => {
    savePending(storage(), key, messages);
  }, [key, messages]);

  // ---------------------------------------------------------------- live
  useEffect(() => {
    setConversationOnScreen(id);
    return () => setConversationOnScreen(null);
  }, [id]);

  useEffect(() => {
    if (!hub) return;
    const channel: Channel = `conversation:${id}`;
    hub.subscribe(channel);
    const stop = hub.listen((frame) => {
      if (frame.type === "ready") {
        // Back after a disconnection: the resume replays what was missed; reload the
        // newest page too (a gap in the history, or a resume that could not cover it).
        // Presence comes again with the new subscription.
        setOnline([]);
        void fetchLatest().then(applyLatest);
        return;
      }
      if (frame.type === "subscribed" && frame.channel === channel) {
        setOnline(presenceFromList(frame.presence, me.id));
        return;
      }
      if (frame.type === "event" && frame.topic === "presence" && frame.channel === channel) {
        const data = (frame.data ?? {}) as { kind?: unknown; userId?: unknown };
        setOnline((prev) => applyPresence(prev, data, me.id));
        return;
      }
      if (frame.type === "event" && frame.topic === "typing") {
        const data = frame.data as { conversationId?: number; userId?: number; isTyping?: boolean } | undefined;
        if (!data || data.conversationId !== id || typeof data.userId !== "number" || data.userId === me.id) return;
        const who = data.userId;
        setTyping((prev) => {
          const next = { ...prev };
          if (data.isTyping === false) delete next[who];
          else next[who] = Date.now() + TYPING_SHOWN_MS;
          return next;
        });
        setNow(Date.now());
        return;
      }
      const ev = chatEvent(frame);
      if (!ev || ev.conversationId !== id) return;
      const { data } = ev;
      if (data.type === "message" && data.message && typeof data.message === "object") {
        const message = data.message as ServerMessage;
        setMessages((prev) => mergeMessages(prev, [fromServer(message)]));
        if (typeof message.senderId === "number") {
          const sender = message.senderId;
          setTyping((prev) => {
            if (!(sender in prev)) return prev;
            const next = { ...prev };
            delete next[sender];
            return next;
          });
        }
      } else if (data.type === "read" && typeof data.userId === "number" && typeof data.messageId === "number") {
        const { userId, messageId } = data;
        setMarks((prev) => applyRead(prev, userId, messageId));
      } else if (data.type === "message_deleted" && typeof data.messageId === "number") {
        const messageId = data.messageId;
        setMessages((prev) => markDeleted(prev, messageId));
      }
    });
    return () => {
      stop();
      hub.unsubscribe(channel);
    };
  }, [hub, id, me.id, fetchLatest, applyLatest]);

  // Typing indicators expire on their own.
  const typingIds = Object.keys(typing);
  useEffect(() => {
    if (typingIds.length === 0) return;
    const t = setInterval(() => {
      const t0 = Date.now();
      setNow(t0);
      setTyping((prev) => {
        const next = Object.fromEntries(Object.entries(prev).filter(([, until]) => until > t0));
        return Object.keys(next).length === Object.keys(prev).length ? prev : next;
      });
    }, 1000);
    return () => clearInterval(t);
  }, [typingIds.length]);

  // ---------------------------------------------------------------- read receipts
  const markedUpTo = useRef(0);
  const newestOther = newestFromOthers(messages, me.id);
  useEffect(() => {
    const mark = () => {
      if (newestOther === null || newestOther <= markedUpTo.current) return;
      if (document.visibilityState !== "visible") return;
      markedUpTo.current = newestOther;
      void api.POST("/api/conversations/{id}/read", { params: { path: { id } }, body: { messageId: newestOther } }).then(
        ({ error }) => {
          if (error) markedUpTo.current = 0; // try again at the next message or visit
        },
        () => {
          markedUpTo.current = 0;
        },
      );
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [id, newestOther]);

  // ---------------------------------------------------------------- sending
  const typingSentAt = useRef(0);
  const typingStop = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sendTyping = useCallback(
    (isTyping: boolean) => {
      hub?.sendFrame({ type: "typing", conversationId: id, isTyping });
    },
    [hub, id],
  );
  const stopTyping = useCallback(() => {
    if (typingStop.current) clearTimeout(typingStop.current);
    typingStop.current = null;
    if (typingSentAt.current !== 0) {
      typingSentAt.current = 0;
      sendTyping(false);
    }
  }, [sendTyping]);
  useEffect(() => () => stopTyping(), [stopTyping]);

  function onDraft(value: string) {
    setDraft(value);
    if (value.trim() === "") {
      stopTyping();
      return;
    }
    const t = Date.now();
    if (t - typingSentAt.current > TYPING_EVERY_MS) {
      typingSentAt.current = t;
      sendTyping(true);
    }
    if (typingStop.current) clearTimeout(typingStop.current);
    typingStop.current = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  async function deliver(message: ChatMessage) {
    setMessages((prev) => mergeMessages(prev, [{ ...message, status: "sending" }]));
    // A network failure rejects: it is a failed send like an error answer.
    const { data, error } = await api
      .POST("/api/conversations/{id}/messages", {
        params: { path: { id } },
        body: { clientMessageId: message.clientMessageId, body: message.body },
      })
      .catch((e: unknown) => ({ data: undefined, error: e }));
    if (data) {
      setMessages((prev) => mergeMessages(prev, [fromServer(data.message)]));
      setSendError(null);
    } else {
      setMessages((prev) => mergeMessages(prev, [{ ...message, status: "failed" }]));
      setSendError(errorMessage(error));
    }
  }

  function onSubmit(e?: React.FormEvent) {
    e?.preventDefault();
    const body = draft.trim();
    if (!body) return;
    stopTyping();
    setDraft("");
    stickToBottom.current = true;
    void deliver({
      id: null,
      conversationId: id,
      senderId: me.id,
      senderName: `${me.firstName} ${me.lastName}`,
      clientMessageId: newClientMessageId(),
      body,
      createdAt: new Date().toISOString(),
      deleted: false,
      status: "sending",
    });
  }

  // ---------------------------------------------------------------- scrolling
  const lastKey = messages.length ? messages[messages.length - 1]!.clientMessageId : "";
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (keepScroll.current) {
      keepScroll.current = false;
      return;
    }
    if (stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [lastKey, loaded]);

  // ---------------------------------------------------------------- view
  const receipt = lastOwnRead(messages, me.id, marks);
  const typingNames = Object.entries(typing)
    .filter(([, until]) => until > now)
    .map(([user]) => nameOf(Number(user), messages, kind === "direct" ? title : null));
  const headingId = `conversation-${id}-titre`;

  return (
    <section aria-labelledby={headingId} className="flex min-w-0 flex-col gap-3" data-testid="conversation">
      <h2 id={headingId} className="text-xl font-semibold">
        {title}
        {kind === "class" && " "}
        {kind === "class" && <span className="ml-1 text-base font-normal text-slate-600 dark:text-slate-300">Conversation de la classe</span>}
      </h2>
      {online.length > 0 && (
        <p className="-mt-2 flex items-center gap-1.5 text-sm text-slate-700 dark:text-slate-300" data-testid="presence">
          <span aria-hidden="true" className="h-2 w-2 rounded-full bg-emerald-600" />
          {kind === "class" ? `${online.length} en ligne dans la conversation` : "En ligne dans la conversation"}
        </p>
      )}
      <ErrorAlert message={loadError} />
      <div
        ref={scroller}
        role="log"
        aria-label={`Messages avec ${title}`}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
        className="max-h-[60vh] min-h-48 overflow-y-auto rounded-xl border border-slate-200 bg-white p-3 sm:p-4 dark:border-slate-800 dark:bg-slate-900"
      >
        {hasMore && (
          <div className="mb-3 text-center">
            <button
              type="button"
              onClick={() => void loadOlder()}
              disabled={loadingOlder}
              className="rounded-md border border-slate-300 px-3 py-1.5 text-sm text-slate-800 hover:bg-slate-100 dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800"
            >
              {loadingOlder ? "Chargement…" : "Messages plus anciens"}
            </button>
          </div>
        )}
        {loaded && messages.length === 0 && <p className="text-slate-600 dark:text-slate-300">Aucun message pour l&apos;instant. Écrivez le premier !</p>}
        {!loaded && !loadError && <p className="text-slate-600 dark:text-slate-300">Chargement des messages…</p>}
        <ol className="flex flex-col gap-3" data-testid="messages">
          {messages.map((m) => {
            const mine = m.senderId === me.id;
            return (
              <li
                key={`${m.senderId}:${m.clientMessageId}`}
                className={`flex max-w-[85%] flex-col ${mine ? "items-end self-end" : "items-start self-start"}`}
                data-testid="message"
                data-status={m.status}
              >
                {!mine && <span className="text-sm font-medium text-slate-700 dark:text-slate-300">{m.senderName ?? "Compte supprimé"}</span>}
                <div
                  className={`rounded-2xl px-3.5 py-2 break-words whitespace-pre-wrap ${
                    mine ? "bg-accent-700 text-white" : "bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100"
                  } ${m.status === "failed" ? "ring-2 ring-red-600" : ""}`}
                >
                  {m.deleted ? <em>Message supprimé par un modérateur.</em> : m.body}
                </div>
                <span className="mt-0.5 text-xs text-slate-600 dark:text-slate-400">
                  {mine && <span className="sr-only">Vous, </span>}
                  <time dateTime={m.createdAt} title={formatDateTime(m.createdAt)}>
                    {messageTime(m.createdAt)}
                  </time>
                  {m.status === "sending" && " · Envoi…"}
                  {m.status === "failed" && <span className="font-medium text-red-700 dark:text-red-300"> · Non envoyé</span>}
                  {receipt && receipt.messageId === m.id && (receipt.read ? <span data-testid="read-receipt" className="font-semibold"> · Lu</span> : " · Envoyé")}
                </span>
                {m.status === "failed" && (
                  <button
                    type="button"
                    onClick={() => void deliver(m)}
                    className="mt-1 rounded-md border border-red-300 px-2.5 py-1 text-sm text-red-800 hover:bg-red-50 dark:border-red-800 dark:text-red-200"
                  >
                    Réessayer l&apos;envoi
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      </div>
      <p aria-live="polite" className="min-h-6 text-sm text-slate-700 italic dark:text-slate-300" data-testid="typing">
        {typingLabel(typingNames)}
      </p>
      <ErrorAlert message={sendError} />
      <form onSubmit={onSubmit} className="flex flex-col gap-2 sm:flex-row sm:items-end">
        <div className="flex flex-1 flex-col gap-1">
          <label htmlFor={`message-${id}`} className="font-medium">
            Votre message
          </label>
          <textarea
            id={`message-${id}`}
            value={draft}
            rows={2}
            maxLength={4000}
            onChange={(e) => onDraft(e.target.value)}
            onBlur={stopTyping}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                onSubmit();
              }
            }}
            aria-describedby={`message-${id}-aide`}
            className="w-full resize-y rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
          />
          <p id={`message-${id}-aide`} className="text-sm text-slate-600 dark:text-slate-300">
            Entrée pour envoyer, Maj + Entrée pour aller à la ligne.
          </p>
        </div>
        <Button type="submit" disabled={draft.trim() === ""} className="sm:mb-7">
          Envoyer
        </Button>
      </form>
    </section>
  );
}
