"use client";

import { useEffect, useRef, useState } from "react";
import { api } from "@/lib/api/client";
import { aria } from "@/lib/aria/client";
import { flagCategory, oversight, STUDENT_NOTICE, type AriaFlag } from "@/lib/aria/oversight";
import type { AriaSession, AriaSessionSummary } from "@/lib/aria/types";
import { useLoader } from "@/lib/useLoader";
import { formatDateTime } from "@/lib/format";
import { Markdown } from "@/lib/markdown";
import { useRequireRole } from "@/components/session";
import { ClassUsage } from "@/components/aria/ClassUsage";
import { Card, ErrorAlert, LabelledSelect, Loading, SuccessNote, SMALL_SECONDARY_BUTTON } from "@/components/ui";

const STAFF = ["teacher", "admin"];
type Student = { id: number; name: string };

/**
 * ARIA for the adults who oversee it (teachers: their students; admins: everyone):
 * moderation flags to review, a class's use and budgets, a student's conversations.
 */
export function AriaOversight() {
  const { allowed, user } = useRequireRole(STAFF);
  const [student, setStudent] = useState<Student | null>(null);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const conversations = useRef<HTMLHeadingElement>(null);
  const [focusConversations, setFocusConversations] = useState(0);
  useEffect(() => {
    if (focusConversations > 0) conversations.current?.focus();
  }, [focusConversations]);

  const open = (s: Student, session: string | null) => {
    setStudent(s);
    setSessionId(session);
    setFocusConversations((n) => n + 1);
  };

  if (!allowed) return <Loading />;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Suivi d&apos;ARIA</h1>
        <p className="max-w-3xl text-slate-700 dark:text-slate-300" data-testid="oversight-notice">
          {user?.role === "admin" ? "Les élèves" : "Vos élèves"} le savent : ARIA leur dit « {STUDENT_NOTICE} » Lisez leurs conversations pour les aider, et
          examinez chaque signalement : une détresse exprimée appelle une réponse d&apos;adulte rapide.
        </p>
      </div>
      <Flags onOpen={open} />
      <Classes onOpen={(s) => open(s, null)} />
      {student && (
        <section aria-labelledby="conversations-titre" className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
          <h2 id="conversations-titre" ref={conversations} tabIndex={-1} className="mb-3 text-lg font-semibold outline-none">
            Conversations de {student.name} avec ARIA
          </h2>
          <StudentSessions key={student.id} student={student} sessionId={sessionId} onSession={setSessionId} />
        </section>
      )}
    </div>
  );
}

function Flags({ onOpen }: { onOpen: (s: Student, session: string) => void }) {
  const [status, setStatus] = useState<"open" | "all">("open");
  const [version, setVersion] = useState(0);
  const { data, error } = useLoader(true, async () => oversight.flags(status), `${status}:${version}`);
  const [note, setNote] = useState<string | null>(null);
  const [reviewError, setReviewError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const flags = data?.flags ?? [];

  async function review(flag: AriaFlag) {
    setBusy(flag.id);
    setNote(null);
    setReviewError(null);
    const { error: e } = await oversight.review(flag.id);
    setBusy(null);
    if (e) setReviewError(e.error);
    else {
      setNote(`Signalement de ${flag.firstName} ${flag.lastName} marqué comme examiné.`);
      setVersion((v) => v + 1);
    }
  }

  return (
    <Card title="Signalements" id="signalements">
      <div className="mb-3 flex flex-wrap items-center gap-2" role="group" aria-label="Signalements affichés">
        {(
          [
            ["open", "À examiner"],
            ["all", "Tous"],
          ] as const
        ).map(([value, label]) => (
          <button
            key={value}
            type="button"
            aria-pressed={status === value}
            onClick={() => setStatus(value)}
            className={`${SMALL_SECONDARY_BUTTON} aria-pressed:border-accent-700 aria-pressed:bg-accent-50 aria-pressed:text-accent-800`}
          >
            {label}
          </button>
        ))}
      </div>
      <div className="space-y-2">
        <ErrorAlert message={error ?? reviewError} />
        <SuccessNote message={note} />
      </div>
      {!data && !error ? (
        <Loading />
      ) : flags.length === 0 ? (
        <p className="text-slate-700 dark:text-slate-300">{status === "open" ? "Aucun signalement à examiner." : "Aucun signalement."}</p>
      ) : (
        <ul className="mt-3 space-y-3" data-testid="flag-list">
          {flags.map((f) => {
            const name = `${f.firstName} ${f.lastName}`;
            const urgent = f.category === "self_harm" || f.category === "self-harm";
            return (
              <li
                key={f.id}
                data-testid="flag"
                className={`rounded-lg border p-4 ${urgent ? "border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950" : "border-slate-200 dark:border-slate-700"}`}
              >
                <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
                  <h3 className="font-semibold">
                    {name} — {flagCategory(f.category)}
                  </h3>
                  <p className="text-sm text-slate-700 dark:text-slate-300">{formatDateTime(f.createdAt)}</p>
                </div>
                <p className="text-sm text-slate-700 dark:text-slate-300">
                  {f.direction === "answer" ? "Réponse d'ARIA, retenue" : "Question de l'élève"} · repéré par{" "}
                  {f.source === "provider" ? "le service de modération" : "les règles d'ARIA"}
                </p>
                <blockquote className="mt-2 whitespace-pre-wrap border-l-4 border-slate-300 pl-3 text-slate-900 dark:border-slate-600 dark:text-slate-100">
                  {f.excerpt}
                </blockquote>
                <div className="mt-3 flex flex-wrap items-center gap-2">
                  <button type="button" className={SMALL_SECONDARY_BUTTON} onClick={() => onOpen({ id: f.userId, name }, f.sessionId)}>
                    Lire la conversation<span className="sr-only"> de {name}</span>
                  </button>
                  {f.reviewedAt ? (
                    <span className="text-sm text-slate-700 dark:text-slate-300">Examiné le {formatDateTime(f.reviewedAt)}</span>
                  ) : (
                    <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={busy === f.id} onClick={() => void review(f)}>
                      Marquer comme examiné<span className="sr-only"> (signalement de {name})</span>
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}

function Classes({ onOpen }: { onOpen: (s: Student) => void }) {
  const { data, error } = useLoader(true, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }));
  const active = data?.classes.filter((c) => !c.archived) ?? [];
  // ?classe=<id> chooses the class first (a link from elsewhere can name one). Rendered
  // in the browser only (after the session is restored), so reading the address is safe.
  const [chosen, setChosen] = useState<number | null>(() => {
    const wanted = Number(new URLSearchParams(window.location.search).get("classe"));
    return Number.isSafeInteger(wanted) && wanted > 0 ? wanted : null;
  });
  const cls = active.find((c) => c.id === chosen) ?? active[0];
  return (
    <Card title="Utilisation et budget par classe" id="budget-classes">
      <ErrorAlert message={error} />
      {!data && !error ? (
        <Loading />
      ) : active.length === 0 || !cls ? (
        <p className="text-slate-700 dark:text-slate-300">Aucune classe active.</p>
      ) : (
        <div className="space-y-4">
          <div className="sm:w-96">
            <LabelledSelect id="aria-classe" label="Classe" value={cls.id} onChange={(e) => setChosen(Number(e.target.value))}>
              {active.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </LabelledSelect>
          </div>
          <ClassUsage key={cls.id} classId={cls.id} className={cls.name} onOpenStudent={(s) => onOpen({ id: s.studentId, name: `${s.firstName} ${s.lastName}` })} />
        </div>
      )}
    </Card>
  );
}

function StudentSessions({ student, sessionId, onSession }: { student: Student; sessionId: string | null; onSession: (id: string) => void }) {
  const { data, error } = useLoader(true, async () => oversight.studentSessions(student.id));
  const sessions = data?.sessions ?? [];
  return (
    <div className="grid gap-4 lg:grid-cols-[18rem_1fr]">
      <div>
        <ErrorAlert message={error} />
        {!data && !error ? (
          <Loading />
        ) : sessions.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300">{student.name} n&apos;a pas encore de conversation avec ARIA (ou l&apos;a supprimée).</p>
        ) : (
          <ul className="space-y-1" aria-label={`Sessions de ${student.name}`}>
            {sessions.map((s) => (
              <li key={s.sessionId}>
                <SessionButton session={s} current={s.sessionId === sessionId} onClick={() => onSession(s.sessionId)} />
              </li>
            ))}
          </ul>
        )}
      </div>
      <div>
        {sessionId ? (
          <Transcript key={sessionId} sessionId={sessionId} student={student} />
        ) : (
          sessions.length > 0 && <p className="text-slate-700 dark:text-slate-300">Choisissez une conversation pour la lire.</p>
        )}
      </div>
    </div>
  );
}

function SessionButton({ session, current, onClick }: { session: AriaSessionSummary; current: boolean; onClick: () => void }) {
  return (
    <button
      type="button"
      aria-current={current ? "true" : undefined}
      onClick={onClick}
      className="w-full rounded-md px-3 py-2 text-left hover:bg-slate-100 aria-[current=true]:bg-accent-50 aria-[current=true]:font-semibold dark:hover:bg-slate-800 dark:aria-[current=true]:bg-slate-800"
    >
      <span className="block">{session.title ?? "Conversation sans titre"}</span>
      <span className="block text-sm font-normal text-slate-600 dark:text-slate-300">
        {formatDateTime(session.lastInteraction)} · {session.messages} message{session.messages > 1 ? "s" : ""}
      </span>
    </button>
  );
}

function Transcript({ sessionId, student }: { sessionId: string; student: Student }) {
  const [state, setState] = useState<{ data?: AriaSession; error?: string }>({});
  useEffect(() => {
    let alive = true;
    void aria.session(sessionId).then(({ data, error }) => {
      if (alive) setState(data ? { data } : { error: error.error });
    });
    return () => {
      alive = false;
    };
  }, [sessionId]);
  if (state.error) return <ErrorAlert message={state.error} />;
  if (!state.data) return <Loading />;
  return (
    <ol className="space-y-3" aria-label="Messages de la conversation" data-testid="transcript">
      {state.data.messages.map((m) => (
        <li
          key={m.id}
          className={`rounded-lg border p-3 ${m.messageType === "user" ? "border-accent-200 bg-accent-50 dark:border-slate-700 dark:bg-slate-800" : "border-slate-200 dark:border-slate-700"}`}
        >
          <p className="mb-1 text-sm font-semibold">
            {m.messageType === "user" ? student.name : "ARIA"} <span className="font-normal text-slate-600 dark:text-slate-300">· {formatDateTime(m.createdAt)}</span>
          </p>
          {m.messageType === "user" ? <p className="whitespace-pre-wrap">{m.content}</p> : <Markdown source={m.content} headingOffset={3} />}
          {m.helpful !== null && (
            <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">
              Réponse jugée {m.helpful ? "utile" : "pas utile"} par l&apos;élève{m.ratingComment ? ` : « ${m.ratingComment} »` : ""}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}
