"use client";

import Link from "next/link";
import { useState } from "react";
import { useSearchParams } from "next/navigation";
import { api, errorMessage } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { fetchAriaSummary } from "@/lib/ariaSummary";
import { CLASS_LEVELS, formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { StudentSummary } from "@/components/StudentSummary";
import { EmailVerification, ParentConsent, useMe } from "@/components/privacy";
import { ChildDataExport } from "./ChildDataExport";
import { ChildDeletion } from "./ChildDeletion";
import { Button, Card, ErrorAlert, Field, Loading, SuccessNote } from "@/components/ui";

const PARENT = ["parent"];

export function ParentDashboard() {
  const { allowed, user } = useRequireRole(PARENT);
  const { revision } = useNotifications();
  const params = useSearchParams();
  const { data: dashboard, error: loadError, reload } = useLoader(allowed, () => api.GET("/api/dashboard/parent"), revision);
  const { data: me } = useMe(allowed);

  if (!allowed) return <Loading />;
  const children = dashboard?.children ?? [];
  // The child shown: ?enfant=<id> (kept in the URL: a reload or a shared link shows the same one).
  const wanted = Number(params.get("enfant"));
  const child = children.find((c) => c.student.id === wanted) ?? children[0] ?? null;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Mes enfants</h1>
        <p className="text-slate-700 dark:text-slate-300">Bonjour {user?.firstName}</p>
      </div>
      <ErrorAlert message={loadError} />
      <EmailVerification me={me} />
      {!dashboard && !loadError && <Loading />}
      {dashboard && children.length === 0 && (
        <Card>
          <p>Aucun enfant n&apos;est encore lié à votre compte. Demandez-lui son code d&apos;appairage (dans son tableau de bord), puis saisissez-le ci-dessous.</p>
        </Card>
      )}
      {children.length > 1 && child && (
        <nav aria-label="Choisir un enfant">
          <ul className="flex flex-wrap gap-2" data-testid="child-switcher">
            {children.map((c) => {
              const current = c.student.id === child.student.id;
              return (
                <li key={c.student.id}>
                  <Link
                    href={`/parent?enfant=${c.student.id}`}
                    scroll={false}
                    aria-current={current ? "page" : undefined}
                    className="inline-block rounded-full border border-slate-300 px-4 py-2 font-medium text-slate-800 hover:bg-slate-100 aria-[current=page]:border-accent-700 aria-[current=page]:bg-accent-700 aria-[current=page]:text-white dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800"
                  >
                    {c.student.firstName} {c.student.lastName}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
      )}
      {child && (
        <section key={child.student.id} aria-labelledby={`enfant-${child.student.id}`} className="space-y-4" data-testid="child">
          <h2 id={`enfant-${child.student.id}`} className="text-xl font-semibold">
            {child.student.firstName} {child.student.lastName}
            {child.student.classLevel && (
              <span className="ml-2 text-base font-normal text-slate-600 dark:text-slate-300">
                {CLASS_LEVELS[child.student.classLevel] ?? child.student.classLevel}
              </span>
            )}
          </h2>
          <p>
            <Link href={`/bilan/${child.student.id}`} className="text-accent-700 underline underline-offset-2 dark:text-accent-100">
              Bilan imprimable de {child.student.firstName}
            </Link>
          </p>
          <ParentConsent studentId={child.student.id} firstName={child.student.firstName} revision={revision} />
          <ChildDataExport studentId={child.student.id} firstName={child.student.firstName} />
          <StudentSummary dashboard={child} idPrefix={`enfant-${child.student.id}`} headingLevel={3} forParent />
          <div className="grid items-start gap-4 md:grid-cols-2">
            <AriaUsage studentId={child.student.id} firstName={child.student.firstName} revision={revision} />
            <WriteToTeacher idPrefix={`enfant-${child.student.id}`} revision={revision} />
          </div>
          <ChildDeletion studentId={child.student.id} firstName={child.student.firstName} />
        </section>
      )}
      <LinkChild onLinked={reload} />
    </div>
  );
}

const box = "rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900";

/** ARIA's summary of the child's use: how much, when, on which courses, flags — never the conversations. */
function AriaUsage({ studentId, firstName, revision }: { studentId: number; firstName: string; revision: number }) {
  const { data, error } = useLoader(true, () => fetchAriaSummary(studentId), `${studentId}-${revision}`);
  const headingId = `aria-${studentId}`;
  return (
    <section aria-labelledby={headingId} className={box} data-testid="aria-summary">
      <h3 id={headingId} className="mb-1 text-lg font-semibold">
        ARIA, son tuteur
      </h3>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-300">
        Un résumé de son utilisation d&apos;ARIA. Vous ne voyez jamais ses conversations.
      </p>
      <ErrorAlert message={error} />
      {!data && !error && <Loading label="Chargement du résumé ARIA…" />}
      {data && (
        <div className="space-y-3">
          <dl className="grid grid-cols-2 gap-3">
            <div>
              <dt className="text-sm text-slate-700 dark:text-slate-300">Questions, 7 derniers jours</dt>
              <dd className="text-xl font-semibold">{data.questionsLast7Days}</dd>
            </div>
            <div>
              <dt className="text-sm text-slate-700 dark:text-slate-300">Questions, 30 derniers jours</dt>
              <dd className="text-xl font-semibold">{data.questionsLast30Days}</dd>
            </div>
            <div>
              <dt className="text-sm text-slate-700 dark:text-slate-300">Sessions</dt>
              <dd className="text-xl font-semibold">{data.sessions}</dd>
            </div>
            <div>
              <dt className="text-sm text-slate-700 dark:text-slate-300">Dernière activité</dt>
              <dd className="font-medium">{data.lastActivity ? formatDateTime(data.lastActivity) : "Jamais"}</dd>
            </div>
          </dl>
          <div>
            <h4 className="font-medium">Cours les plus utilisés (30 jours)</h4>
            {data.topCourses.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-300">{firstName} n&apos;a pas encore interrogé ARIA sur un cours.</p>
            ) : (
              <ol className="list-decimal pl-5">
                {data.topCourses.map((c) => (
                  <li key={c.courseTitle}>
                    {c.courseTitle}{" "}
                    <span className="text-sm text-slate-600 dark:text-slate-300">
                      ({c.answers} réponse{c.answers > 1 ? "s" : ""})
                    </span>
                  </li>
                ))}
              </ol>
            )}
          </div>
          <p className={data.flagsLast30Days > 0 ? "font-medium text-amber-900 dark:text-amber-200" : "text-sm text-slate-700 dark:text-slate-300"}>
            {data.flagsLast30Days === 0
              ? "Aucun signalement ces 30 derniers jours."
              : `${data.flagsLast30Days} signalement${data.flagsLast30Days > 1 ? "s" : ""} ces 30 derniers jours : ses enseignants en sont informés et peuvent vous en parler.`}
          </p>
        </div>
      )}
    </section>
  );
}

/** The teachers of the children's classes, each a link to the conversation with them.
 * (The API lists a parent's children's classes together, without saying whose.) */
function WriteToTeacher({ idPrefix, revision }: { idPrefix: string; revision: number }) {
  const { data, error } = useLoader(true, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }), revision);
  const teachers = new Map<number, { name: string; classes: string[] }>();
  for (const c of data?.classes ?? []) {
    const t = teachers.get(c.teacherId) ?? { name: c.teacherName, classes: [] };
    t.classes.push(c.name);
    teachers.set(c.teacherId, t);
  }
  const headingId = `${idPrefix}-enseignants`;
  return (
    <section aria-labelledby={headingId} className={box} data-testid="teachers">
      <h3 id={headingId} className="mb-3 text-lg font-semibold">
        Écrire à un enseignant
      </h3>
      <ErrorAlert message={error} />
      {!data && !error && <Loading label="Chargement des enseignants…" />}
      {data && teachers.size === 0 && (
        <p className="text-slate-600 dark:text-slate-300">Ses enseignants apparaîtront ici dès qu&apos;il ou elle aura rejoint une classe.</p>
      )}
      {teachers.size > 0 && (
        <ul className="space-y-2">
          {[...teachers].map(([id, t]) => (
            <li key={id} className="flex flex-wrap items-center justify-between gap-2">
              <span>
                <span className="block font-medium">{t.name}</span>
                <span className="block text-sm text-slate-600 dark:text-slate-300">{t.classes.join(", ")}</span>
              </span>
              <Link
                href={`/messages?avec=${id}`}
                className="rounded-md border border-accent-700 px-3 py-1.5 font-medium text-accent-800 hover:bg-accent-50 dark:border-accent-100 dark:text-accent-100 dark:hover:bg-slate-800"
              >
                Écrire à {t.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function LinkChild({ onLinked }: { onLinked: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [linked, setLinked] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const code = String(new FormData(form).get("code") ?? "").trim();
    setBusy(true);
    setError(null);
    setLinked(null);
    const { data, error: apiError } = await api.POST("/api/me/children", { body: { code } });
    setBusy(false);
    if (data) {
      setLinked(`${data.child.firstName} ${data.child.lastName} est maintenant lié(e) à votre compte.`);
      form.reset();
      onLinked();
    } else setError(errorMessage(apiError));
  }

  return (
    <Card title="Lier un enfant" id="lier">
      <form onSubmit={onSubmit} className="flex flex-col gap-3 sm:max-w-md" noValidate>
        <ErrorAlert message={error} />
        <SuccessNote message={linked} />
        <Field
          id="code-appairage"
          name="code"
          label="Code d'appairage"
          hint="Le code à 8 caractères que votre enfant a créé dans son tableau de bord."
          autoComplete="off"
          autoCapitalize="characters"
          required
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Envoi…" : "Lier"}
        </Button>
      </form>
    </Card>
  );
}
