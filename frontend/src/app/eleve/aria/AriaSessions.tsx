"use client";

// The student's conversations with ARIA (GET /api/aria/sessions): open one to read and
// continue it (?session=…), rename it, delete it after a confirmation, or start one.
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import Link from "next/link";
import { AriaChat } from "@/components/aria/AriaChat";
import { Eye } from "@/components/aria/icons";
import { useRequireRole } from "@/components/session";
import { ConfirmDialog } from "@/components/confirm";
import { ErrorAlert, Loading, SuccessNote } from "@/components/ui";
import { aria } from "@/lib/aria/client";
import type { AriaSessionSummary } from "@/lib/aria/types";
import { formatDateTime } from "@/lib/format";

const STUDENT = ["student"];
const UNTITLED = "Conversation sans titre";

export function AriaSessions() {
  const { allowed } = useRequireRole(STUDENT);
  const router = useRouter();
  const selected = useSearchParams().get("session");
  const [sessions, setSessions] = useState<AriaSessionSummary[] | null>(null);
  const [oversight, setOversight] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [creating, setCreating] = useState(false);
  // The session a new conversation here was given: it stays the same chat (no reload).
  const [born, setBorn] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<AriaSessionSummary | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);
  const deleted = useRef(false);

  useEffect(() => {
    if (!allowed) return;
    let alive = true;
    void aria.sessions().then(({ data, error: failed }) => {
      if (!alive) return;
      if (data) {
        setSessions(data.sessions);
        setOversight(data.oversight);
        setError(null);
      } else setError(failed.error);
    });
    return () => {
      alive = false;
    };
  }, [allowed, version]);

  if (!allowed) return <Loading />;

  const reload = () => setVersion((v) => v + 1);
  const current = sessions?.find((s) => s.sessionId === selected) ?? null;
  const chatOpen = !!selected || creating;

  function openSession(id: string | null) {
    setCreating(id === null);
    setNotice(null);
    setRenaming(null);
    router.push(id ? `/eleve/aria?session=${encodeURIComponent(id)}` : "/eleve/aria");
  }

  async function rename(s: AriaSessionSummary, title: string) {
    const { error: failed } = await aria.rename(s.sessionId, title);
    if (failed) return failed.error;
    setSessions((list) => list?.map((x) => (x.sessionId === s.sessionId ? { ...x, title } : x)) ?? list);
    setRenaming(null);
    setNotice(`Conversation renommée : « ${title} ».`);
    return null;
  }

  async function remove(s: AriaSessionSummary) {
    const { error: failed } = await aria.remove(s.sessionId);
    if (failed) return failed.error;
    setSessions((list) => list?.filter((x) => x.sessionId !== s.sessionId) ?? list);
    setDeleting(null);
    setNotice("Conversation supprimée.");
    if (selected === s.sessionId) router.replace("/eleve/aria");
    // Its button is gone: once the dialog has closed, the focus goes to the list.
    deleted.current = true;
    return null;
  }

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">ARIA, ton tuteur</h1>
        <p className="mt-1 text-slate-700 dark:text-slate-300">Tes conversations avec ARIA : relis-les, continue-les, renomme-les ou supprime-les.</p>
        {oversight && (
          <p className="mt-2 flex gap-1.5 text-sm text-slate-600 dark:text-slate-400" data-testid="aria-oversight">
            <Eye className="mt-1 h-3.5 w-3.5 shrink-0" />
            <span>{oversight}</span>
          </p>
        )}
      </div>
      <ErrorAlert message={error} />
      <SuccessNote message={notice} />

      <div className="grid items-start gap-6 lg:grid-cols-[20rem_minmax(0,1fr)]">
        <section aria-labelledby="conversations-titre" className={`${chatOpen ? "hidden lg:block" : ""} rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900`}>
          <div className="flex items-center gap-2">
            <h2 id="conversations-titre" ref={listHeading} tabIndex={-1} className="flex-1 text-lg font-semibold">
              Mes conversations
            </h2>
            <button
              type="button"
              onClick={() => openSession(null)}
              className="rounded-md bg-accent-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-800"
            >
              Nouvelle conversation
            </button>
          </div>
          {!sessions && !error && <Loading />}
          {sessions && sessions.length === 0 && (
            <p className="mt-3 text-slate-700 dark:text-slate-300">
              Aucune conversation pour l&apos;instant. Pose ta première question ici, ou depuis un cours avec « Demander à ARIA ».
            </p>
          )}
          {sessions && sessions.length > 0 && (
            <ul className="mt-3 divide-y divide-slate-200 dark:divide-slate-700" data-testid="aria-sessions">
              {sessions.map((s) => (
                <li key={s.sessionId} className="py-3">
                  {renaming === s.sessionId ? (
                    <RenameForm session={s} onSave={(t) => rename(s, t)} onCancel={() => setRenaming(null)} />
                  ) : (
                    <SessionItem
                      session={s}
                      current={s.sessionId === selected}
                      onOpen={() => openSession(s.sessionId)}
                      onRename={() => {
                        setNotice(null);
                        setRenaming(s.sessionId);
                      }}
                      onDelete={() => {
                        setNotice(null);
                        setDeleting(s);
                      }}
                    />
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>

        {chatOpen ? (
          <section aria-label="Conversation" className="flex h-[75dvh] max-h-[48rem] min-h-[28rem] flex-col overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <div className="border-b border-slate-200 px-4 py-2 lg:hidden dark:border-slate-700">
              <Link href="/eleve/aria" onClick={() => setCreating(false)} className="text-sm text-accent-800 underline underline-offset-2 dark:text-accent-100">
                ← Toutes mes conversations
              </Link>
            </div>
            <AriaChat
              key={selected && selected !== born ? selected : "nouvelle"}
              sessionId={selected}
              headingLevel={2}
              showOversight={false}
              title={current?.title || (selected ? UNTITLED : "Nouvelle conversation")}
              onSession={(id) => {
                if (!id) {
                  openSession(null);
                  return;
                }
                setBorn(id);
                setCreating(false);
                router.replace(`/eleve/aria?session=${encodeURIComponent(id)}`);
              }}
              onAnswered={reload}
            />
          </section>
        ) : (
          <p className="hidden rounded-xl border border-dashed border-slate-300 p-6 text-slate-700 lg:block dark:border-slate-700 dark:text-slate-300">
            Choisis une conversation pour la relire et la continuer.
          </p>
        )}
      </div>

      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        title="Supprimer cette conversation ?"
        description={<p>« {deleting?.title || UNTITLED} » et tous ses messages seront effacés. Cette action est définitive.</p>}
        confirmLabel="Supprimer"
        destructive
        onConfirm={() => (deleting ? remove(deleting) : undefined)}
        onCloseAutoFocus={(e) => {
          if (!deleted.current) return;
          deleted.current = false;
          e.preventDefault();
          listHeading.current?.focus();
        }}
      />
    </div>
  );
}

function SessionItem({ session: s, current, onOpen, onRename, onDelete }: { session: AriaSessionSummary; current: boolean; onOpen: () => void; onRename: () => void; onDelete: () => void }) {
  const title = s.title || UNTITLED;
  return (
    <div>
      <button
        type="button"
        onClick={onOpen}
        aria-current={current ? "true" : undefined}
        className="block w-full rounded-md px-1 py-0.5 text-left font-medium text-accent-800 underline-offset-2 hover:underline aria-[current=true]:bg-accent-50 dark:text-accent-100 dark:aria-[current=true]:bg-slate-800"
      >
        <span className="sr-only">Ouvrir : </span>
        {title}
      </button>
      <p className="px-1 text-sm text-slate-700 dark:text-slate-300">
        {formatDateTime(s.lastInteraction)} · {s.messages} message{s.messages > 1 ? "s" : ""}
      </p>
      <div className="mt-1 flex gap-3 px-1 text-sm">
        <button type="button" onClick={onRename} className="text-slate-800 underline underline-offset-2 dark:text-slate-100">
          Renommer<span className="sr-only"> « {title} »</span>
        </button>
        <button type="button" onClick={onDelete} className="text-red-800 underline underline-offset-2 dark:text-red-300">
          Supprimer<span className="sr-only"> « {title} »</span>
        </button>
      </div>
    </div>
  );
}

function RenameForm({ session, onSave, onCancel }: { session: AriaSessionSummary; onSave: (title: string) => Promise<string | null>; onCancel: () => void }) {
  const [title, setTitle] = useState(session.title ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = title.trim();
    if (!t) {
      setError("Donne un titre à cette conversation.");
      return;
    }
    setBusy(true);
    const failed = await onSave(t.slice(0, 100));
    setBusy(false);
    setError(failed);
  }

  return (
    <form onSubmit={submit} onKeyDown={(e) => e.key === "Escape" && onCancel()} className="space-y-2">
      <label htmlFor={id} className="text-sm font-medium">
        Nouveau titre
      </label>
      <input
        id={id}
        ref={input}
        value={title}
        maxLength={100}
        onChange={(e) => setTitle(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-erreur` : undefined}
        className="block w-full rounded-md border border-slate-400 bg-white px-2 py-1.5 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
      />
      {error && (
        <p id={`${id}-erreur`} role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
      <div className="flex gap-2">
        <button type="submit" disabled={busy} className="rounded-md bg-accent-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-accent-800 disabled:opacity-60">
          Enregistrer
        </button>
        <button type="button" onClick={onCancel} className="rounded-md px-3 py-1.5 text-sm text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800">
          Annuler
        </button>
      </div>
    </form>
  );
}

