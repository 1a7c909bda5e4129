"use client";

import Link from "next/link";
import { useEffect, useId, useRef, useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { listTime } from "@/lib/chat/time";
import { useConversations } from "@/lib/chat/useConversations";
import { useRequireRole } from "@/components/session";
import { ErrorAlert, Loading } from "@/components/ui";
import { Conversation } from "./Conversation";

// Every role has messages (teachers and admins use the same page).
const ROLES = ["student", "parent", "teacher", "admin"];

/**
 * /messages (the list; on a wide screen the conversation beside it) and
 * /messages/[id]. `?avec=<userId>` opens (or finds) the direct conversation with that
 * person, then shows it: links from elsewhere ("Écrire à un enseignant") use it.
 */
export function MessagesView({ conversationId }: { conversationId: number | null }) {
  const { allowed, user } = useRequireRole(ROLES);
  const router = useRouter();
  const params = useSearchParams();
  const withUser = params.get("avec");
  const { conversations, error, reload } = useConversations(allowed, user?.id ?? null);
  const [openError, setOpenError] = useState<string | null>(null);

  useEffect(() => {
    if (!allowed || !withUser) return;
    const userId = Number(withUser);
    if (!Number.isSafeInteger(userId) || userId <= 0) return;
    let alive = true;
    void api.POST("/api/conversations", { body: { userId } }).then(
      ({ data, error: e }) => {
        if (!alive) return;
        if (data) {
          reload();
          router.replace(`/messages/${data.conversationId}`);
        } else setOpenError(errorMessage(e));
      },
      (e: unknown) => alive && setOpenError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
  }, [allowed, withUser, router, reload]);

  if (!allowed || !user) return <Loading />;
  const current = conversations?.find((c) => c.id === conversationId) ?? null;

  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Messages</h1>
      <ErrorAlert message={openError} />
      <div className="grid items-start gap-6 md:grid-cols-[18rem_minmax(0,1fr)]">
        <div className={`space-y-4 ${conversationId !== null ? "hidden md:block" : ""}`}>
          <NewMessage
            role={user.role}
            me={user.id}
            onOpened={(id) => {
              reload();
              router.push(`/messages/${id}`);
            }}
          />
          <section aria-labelledby="conversations-titre" className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <h2 id="conversations-titre" className="mb-2 text-lg font-semibold">
              Conversations
            </h2>
            <ErrorAlert message={error} />
            {!conversations && !error && <Loading label="Chargement des conversations…" />}
            {conversations && conversations.length === 0 && (
              <p className="text-slate-600 dark:text-slate-300">Aucune conversation pour l&apos;instant. Commencez par « Nouveau message ».</p>
            )}
            {conversations && conversations.length > 0 && (
              <ul className="-mx-2 flex flex-col" data-testid="conversation-list">
                {conversations.map((c) => (
                  <ConversationItem key={c.id} conversation={c} current={c.id === conversationId} />
                ))}
              </ul>
            )}
          </section>
        </div>
        {conversationId !== null ? (
          <div className="min-w-0 space-y-2">
            <Link href="/messages" className="inline-block text-accent-800 underline underline-offset-2 md:hidden dark:text-accent-100">
              ← Toutes les conversations
            </Link>
            <Conversation
              key={conversationId}
              id={conversationId}
              me={user}
              title={current?.title || "Conversation"}
              kind={current?.kind ?? null}
            />
          </div>
        ) : (
          <p className="hidden rounded-xl border border-dashed border-slate-300 p-6 text-slate-600 md:block dark:border-slate-700 dark:text-slate-300">
            Choisissez une conversation, ou écrivez un nouveau message.
          </p>
        )}
      </div>
    </div>
  );
}

function ConversationItem({ conversation: c, current }: { conversation: Schemas["ConversationSummary"]; current: boolean }) {
  const unread = Number(c.unread);
  return (
    <li>
      <Link
        href={`/messages/${c.id}`}
        aria-current={current ? "page" : undefined}
        data-testid="conversation-link"
        className="flex items-center justify-between gap-2 rounded-md px-2 py-2.5 hover:bg-slate-100 aria-[current=page]:bg-accent-50 dark:hover:bg-slate-800 dark:aria-[current=page]:bg-slate-800"
      >
        <span className="min-w-0">
          <span className={`block truncate ${unread > 0 ? "font-semibold" : "font-medium"} text-slate-900 dark:text-slate-100`}>
            {c.kind === "class" ? `Classe · ${c.title}` : c.title}
          </span>
          <span className="block text-sm text-slate-600 dark:text-slate-300">
            {c.lastMessageAt ? listTime(c.lastMessageAt) : "Pas encore de message"}
          </span>
        </span>
        {unread > 0 && (
          <span className="shrink-0 rounded-full bg-accent-700 px-2 py-0.5 text-sm font-semibold text-white" data-testid="conversation-unread">
            {unread}
            <span className="sr-only"> non lu{unread > 1 ? "s" : ""}</span>
          </span>
        )}
      </Link>
    </li>
  );
}

type Contact = { key: string; label: string; detail: string; open: () => Promise<{ id?: number; error?: unknown }> };

/** The people (and class conversations) one may write to, from one's classes: a
 * student's and a parent's are the classes' teachers; students and teachers also have
 * their classes' conversations. */
function contactsOf(classes: Schemas["ClassView"][], role: string, me: number): Contact[] {
  const contacts: Contact[] = [];
  const teachers = new Map<number, { name: string; classes: string[] }>();
  for (const c of classes) {
    if (c.teacherId === me) continue;
    const t = teachers.get(c.teacherId) ?? { name: c.teacherName, classes: [] };
    t.classes.push(c.name);
    teachers.set(c.teacherId, t);
  }
  for (const [teacherId, t] of teachers) {
    contacts.push({
      key: `u${teacherId}`,
      label: t.name,
      detail: `Enseignant · ${t.classes.join(", ")}`,
      open: async () => {
        const { data, error } = await api.POST("/api/conversations", { body: { userId: teacherId } });
        return { id: data?.conversationId, error };
      },
    });
  }
  if (role === "student" || role === "teacher") {
    for (const c of classes.filter((c) => !c.archived)) {
      contacts.push({
        key: `c${c.id}`,
        label: `Classe · ${c.name}`,
        detail: "Conversation de toute la classe",
        open: async () => {
          const { data, error } = await api.GET("/api/classes/{id}/conversation", { params: { path: { id: c.id } } });
          return { id: data?.conversationId, error };
        },
      });
    }
  }
  return contacts;
}

function NewMessage({ role, me, onOpened }: { role: string; me: number; onOpened: (id: number) => void }) {
  const [open, setOpen] = useState(false);
  const [contacts, setContacts] = useState<Contact[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const panelId = useId();
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open || contacts) return;
    let alive = true;
    void api.GET("/api/classes", { params: { query: { limit: 100 } } }).then(
      ({ data, error: e }) => {
        if (!alive) return;
        if (data) setContacts(contactsOf(data.classes, role, me));
        else setError(errorMessage(e));
      },
      (e: unknown) => alive && setError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
  }, [open, contacts, role, me]);

  async function choose(c: Contact) {
    setBusy(c.key);
    setError(null);
    const { id, error: e } = await c.open().catch((err: unknown) => ({ id: undefined, error: err }));
    setBusy(null);
    if (id !== undefined) {
      setOpen(false);
      onOpened(id);
    } else setError(errorMessage(e));
  }

  return (
    <div
      onKeyDown={(e) => {
        if (e.key === "Escape" && open) {
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
        className="w-full rounded-md bg-accent-700 px-4 py-2 font-medium text-white hover:bg-accent-800"
      >
        Nouveau message
      </button>
      <div id={panelId} hidden={!open} className="mt-2 rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <h2 className="mb-2 text-lg font-semibold">À qui écrire ?</h2>
        <ErrorAlert message={error} />
        {open && !contacts && !error && <Loading label="Chargement des contacts…" />}
        {contacts && contacts.length === 0 && (
          <p className="text-slate-600 dark:text-slate-300">
            {role === "parent"
              ? "Les enseignants de vos enfants apparaîtront ici dès qu'un enfant lié aura rejoint une classe."
              : "Vos enseignants apparaîtront ici dès que vous aurez rejoint une classe."}
          </p>
        )}
        {contacts && contacts.length > 0 && (
          <ul className="-mx-2 flex flex-col" data-testid="contacts">
            {contacts.map((c) => (
              <li key={c.key}>
                <button
                  type="button"
                  onClick={() => void choose(c)}
                  disabled={busy !== null}
                  className="w-full rounded-md px-2 py-2 text-left hover:bg-slate-100 disabled:opacity-60 dark:hover:bg-slate-800"
                >
                  <span className="block font-medium">{c.label}</span>
                  <span className="block text-sm text-slate-600 dark:text-slate-300">{busy === c.key ? "Ouverture…" : c.detail}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
