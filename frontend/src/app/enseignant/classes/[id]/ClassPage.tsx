"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CLASS_LEVELS, formatDate, formatDateTime, formatShortDate } from "@/lib/format";
import { assessmentOf, type Online } from "@/lib/hub/presence";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { usePresence } from "@/components/presence";
import { ConfirmDialog } from "@/components/confirm";
import { Button, Card, ErrorAlert, Field, Loading, SECONDARY_BUTTON, SuccessNote } from "@/components/ui";
import { type ClassProgress, heatClass, progressGrid } from "../../classes";
import { GradeExport, RosterImport } from "./RosterTools";

const TEACHER = ["teacher", "admin"];

/** A class for its teacher: join code, settings, invitations, live presence, roster and progress. */
export function ClassPage({ id }: { id: string }) {
  const { allowed, user } = useRequireRole(TEACHER);
  const { revision } = useNotifications();
  const { data, error, reload } = useLoader(allowed, () => api.GET("/api/classes/{id}", { params: { path: { id: Number(id) } } }), `${id}:${String(revision)}`);
  const { data: progress, reload: reloadProgress } = useLoader(
    allowed,
    () => api.GET("/api/classes/{id}/progress", { params: { path: { id: Number(id) } } }),
    `${id}:${String(revision)}`,
  );
  const online = usePresence(allowed && data ? `class:${Number(id)}` : null, user?.id);
  // Someone online who is not on the roster yet (joined meanwhile): reload it.
  const students = data?.students;
  const seen = useRef(new Set<number>());
  useEffect(() => {
    if (!students || !data) return;
    for (const uid of Object.keys(online).map(Number)) {
      if (uid !== data.class.teacherId && !students.some((s) => s.id === uid) && !seen.current.has(uid)) {
        seen.current.add(uid);
        reload();
        reloadProgress();
        return;
      }
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [online, students]);

  if (!allowed) return <Loading />;
  if (!data) return error ? <ErrorAlert message={error} /> : <Loading />;
  const cls = data.class;
  const refresh = () => {
    reload();
    reloadProgress();
  };
  return (
    <div className="space-y-6">
      <nav aria-label="Fil d'Ariane" className="text-sm">
        <Link href="/enseignant" className="text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
          ← Mes classes
        </Link>
      </nav>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="text-2xl font-bold">{cls.name}</h1>
          <p className="text-slate-700 dark:text-slate-300">
            {CLASS_LEVELS[cls.level] ?? cls.level} · {cls.schoolYear} · {cls.studentCount} élève{cls.studentCount > 1 ? "s" : ""}
          </p>
        </div>
        <ArchiveButton cls={cls} onDone={reload} />
      </div>
      {cls.archived && (
        <p role="status" data-testid="archived-note" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          Cette classe est archivée : elle est en lecture seule (pas de nouveaux élèves, pas de modification) jusqu&apos;à ce que vous la restauriez.
        </p>
      )}
      <ErrorAlert message={error} />
      <LiveClass online={online} students={students ?? []} progress={progress} teacherId={cls.teacherId} />
      <div className="grid items-start gap-6 lg:grid-cols-2">
        <JoinCode cls={cls} onChanged={reload} />
        <div className="space-y-6">
          <Rename cls={cls} onChanged={reload} />
          <Invite cls={cls} invitations={data.invitations ?? []} onChanged={reload} />
        </div>
      </div>
      <Roster cls={cls} students={students ?? []} progress={progress} online={online} onRemoved={refresh} />
      <div className="grid items-start gap-6 lg:grid-cols-2">
        <GradeExport classId={cls.id} />
        <RosterImport classId={cls.id} archived={cls.archived} onImported={refresh} />
      </div>
    </div>
  );
}

type Cls = Schemas["ClassView"];

function ArchiveButton({ cls, onDone }: { cls: Cls; onDone: () => void }) {
  const archive = !cls.archived;
  return (
    <ConfirmDialog
      trigger={
        <button type="button" className={SECONDARY_BUTTON}>
          {archive ? "Archiver la classe" : "Restaurer la classe"}
        </button>
      }
      title={archive ? `Archiver ${cls.name} ?` : `Restaurer ${cls.name} ?`}
      description={
        archive
          ? "La classe passera en lecture seule : son code ne fonctionnera plus, vous ne pourrez plus inviter ni retirer d'élèves. Vous pourrez la restaurer à tout moment."
          : "La classe redeviendra modifiable et son code fonctionnera de nouveau s'il est activé."
      }
      confirmLabel={archive ? "Archiver" : "Restaurer"}
      destructive={archive}
      onConfirm={async () => {
        const { error } = await api.PATCH("/api/classes/{id}", { params: { path: { id: cls.id } }, body: { archived: archive } });
        if (error) return errorMessage(error);
        onDone();
      }}
    />
  );
}

function JoinCode({ cls, onChanged }: { cls: Cls; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const enabled = cls.joinCodeEnabled !== false;

  async function patch(body: Schemas["ClassUpdate"], done: string) {
    setBusy(true);
    setError(null);
    setNote(null);
    const { error: apiError } = await api.PATCH("/api/classes/{id}", { params: { path: { id: cls.id } }, body });
    setBusy(false);
    if (apiError) setError(errorMessage(apiError));
    else {
      setNote(done);
      onChanged();
    }
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(cls.joinCode ?? "");
      setNote("Code copié dans le presse-papiers.");
    } catch {
      setNote(null);
      setError("La copie n'a pas fonctionné : sélectionnez le code pour le copier.");
    }
  }

  return (
    <Card title="Code de la classe" id="code">
      <div className="flex flex-col gap-3">
        <p className={`font-mono text-4xl font-bold tracking-[0.2em] ${enabled && !cls.archived ? "" : "text-slate-500 line-through dark:text-slate-400"}`} data-testid="join-code">
          {cls.joinCode}
        </p>
        <p className="text-slate-700 dark:text-slate-300">
          {cls.archived
            ? "La classe est archivée : ce code ne fonctionne pas."
            : enabled
              ? "Vos élèves le saisissent dans « Rejoindre une classe » de leur tableau de bord."
              : "Le code est désactivé : les élèves ne peuvent rejoindre la classe que sur invitation."}
          {cls.joinCodeExpiresAt ? ` Valable jusqu'au ${formatDateTime(cls.joinCodeExpiresAt)}.` : ""}
        </p>
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
        <div className="flex flex-wrap gap-2">
          <button type="button" className={SECONDARY_BUTTON} onClick={() => void copy()}>
            Copier le code
          </button>
          <button type="button" className={SECONDARY_BUTTON} disabled={busy || cls.archived} onClick={() => void patch({ regenerateJoinCode: true }, "Nouveau code créé : l'ancien ne fonctionne plus.")}>
            Renouveler le code
          </button>
          <button
            type="button"
            className={SECONDARY_BUTTON}
            disabled={busy || cls.archived}
            onClick={() => void patch({ joinCodeEnabled: !enabled }, enabled ? "Code désactivé." : "Code réactivé.")}
          >
            {enabled ? "Désactiver le code" : "Réactiver le code"}
          </button>
        </div>
      </div>
    </Card>
  );
}

function Rename({ cls, onChanged }: { cls: Cls; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get("name") ?? "");
    setBusy(true);
    setError(null);
    setFieldError(undefined);
    setNote(null);
    const { error: apiError } = await api.PATCH("/api/classes/{id}", { params: { path: { id: cls.id } }, body: { name } });
    setBusy(false);
    if (apiError) {
      const fields = fieldErrors(apiError);
      if (fields.name) setFieldError(fields.name);
      else setError(errorMessage(apiError));
    } else {
      setNote("Classe renommée.");
      onChanged();
    }
  }
  return (
    <Card title="Renommer" id="renommer">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
        <Field id="renommer-nom" name="name" label="Nom de la classe" defaultValue={cls.name} key={cls.name} error={fieldError} disabled={cls.archived} maxLength={100} />
        <Button type="submit" disabled={busy || cls.archived} className="self-start">
          Renommer
        </Button>
      </form>
    </Card>
  );
}

function Invite({ cls, invitations, onChanged }: { cls: Cls; invitations: Schemas["PendingInvitation"][]; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const email = String(new FormData(form).get("email") ?? "").trim();
    setBusy(true);
    setError(null);
    setFieldError(undefined);
    setNote(null);
    const { error: apiError } = await api.POST("/api/classes/{id}/students", { params: { path: { id: cls.id } }, body: { email } });
    setBusy(false);
    if (apiError) {
      const fields = fieldErrors(apiError);
      if (fields.email) setFieldError(fields.email);
      else setError(errorMessage(apiError));
    } else {
      setNote(`Invitation envoyée à ${email}, si un compte élève existe à cette adresse. L'élève rejoindra la classe quand il l'aura acceptée.`);
      form.reset();
      onChanged();
    }
  }
  async function withdraw(invitationId: number) {
    const { error: apiError } = await api.DELETE("/api/classes/{id}/invitations/{invitationId}", { params: { path: { id: cls.id, invitationId } } });
    if (apiError) setError(errorMessage(apiError));
    else onChanged();
  }
  return (
    <Card title="Inviter un élève" id="inviter">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Par confidentialité, la réponse est la même que l&apos;adresse corresponde ou non à un compte élève.
        </p>
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
        <Field id="inviter-email" name="email" type="email" label="Adresse e-mail de l'élève" autoComplete="off" error={fieldError} disabled={cls.archived} required />
        <Button type="submit" disabled={busy || cls.archived} className="self-start">
          {busy ? "Envoi…" : "Inviter"}
        </Button>
      </form>
      {invitations.length > 0 && (
        <div className="mt-4">
          <h3 className="font-medium">Invitations en attente</h3>
          <ul className="mt-1 divide-y divide-slate-100 dark:divide-slate-800">
            {invitations.map((inv) => (
              <li key={inv.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
                <span>
                  {inv.email} <span className="text-slate-600 dark:text-slate-300">· {formatDate(inv.createdAt)}</span>
                </span>
                <button type="button" className={`${SECONDARY_BUTTON} py-1 text-sm`} disabled={cls.archived} onClick={() => void withdraw(inv.id)}>
                  Retirer l&apos;invitation<span className="sr-only"> de {inv.email}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}

/** "2 déc., 18 h 40": the roster's last activity, short enough for a phone. */
function shortDateTime(iso: string): string {
  const time = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" }).format(new Date(iso));
  return `${formatShortDate(iso)}, ${time.replace(":", " h ")}`;
}

type Student = Schemas["RosterEntry"];

/** Titles of the assessments students report taking: the teacher's own list, loaded when first needed. */
function useAssessmentTitles(online: Online): Record<number, string> {
  const [titles, setTitles] = useState<Record<number, string>>({});
  const missing = Object.values(online)
    .map(assessmentOf)
    .filter((id): id is number => id !== null && !(id in titles));
  const key = [...new Set(missing)].sort().join(",");
  const asked = useRef("");
  useEffect(() => {
    if (!key || asked.current === key) return;
    asked.current = key;
    void api.GET("/api/assessments", { params: { query: { limit: 100 } } }).then(({ data }) => {
      if (data) setTitles(Object.fromEntries(data.assessments.map((a) => [a.id, a.title])));
    });
  }, [key]);
  return titles;
}

/** Course titles for the activity reported: the class's courses, else GET /api/courses/{id}. */
function useCourseTitles(online: Online, progress: ClassProgress | null | undefined): Record<number, string> {
  const [fetched, setFetched] = useState<Record<number, string>>({});
  const asked = useRef(new Set<number>());
  const known: Record<number, string> = {};
  for (const c of progress?.courses ?? []) known[c.id] = c.title;
  const missing = [...new Set(Object.values(online).map((a) => a?.courseId))].filter(
    (c): c is number => typeof c === "number" && !(c in known) && !(c in fetched),
  );
  const key = missing.join(",");
  useEffect(() => {
    if (!key) return;
    for (const courseId of key.split(",").map(Number)) {
      if (asked.current.has(courseId)) continue;
      asked.current.add(courseId);
      void api.GET("/api/courses/{id}", { params: { path: { id: courseId } } }).then(({ data }) => {
        if (data?.title) setFetched((f) => ({ ...f, [courseId]: data.title }));
      });
    }
  }, [key]);
  return { ...fetched, ...known };
}

function LiveClass({ online, students, progress, teacherId }: { online: Online; students: Student[]; progress: ClassProgress | null | undefined; teacherId: number }) {
  const titles = useCourseTitles(online, progress);
  const exams = useAssessmentTitles(online);
  const here = students.filter((s) => s.id in online);
  const others = Object.keys(online)
    .map(Number)
    .filter((uid) => uid !== teacherId && !students.some((s) => s.id === uid));
  return (
    <Card title="En direct" id="en-direct">
      <p className="mb-2 flex items-center gap-2 text-slate-700 dark:text-slate-300" data-testid="online-count">
        <span aria-hidden="true" className={`h-2.5 w-2.5 rounded-full ${here.length > 0 ? "bg-emerald-600" : "bg-slate-400"}`} />
        {here.length === 0 ? "Aucun élève en ligne" : `${here.length} élève${here.length > 1 ? "s" : ""} en ligne`}
      </p>
      {here.length > 0 && (
        <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3" data-testid="online-students">
          {here.map((s) => {
            const a = online[s.id];
            const title = a?.courseId !== undefined ? (titles[a.courseId] ?? `cours n° ${a.courseId}`) : null;
            const exam = assessmentOf(a);
            return (
              <li key={s.id} className="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 dark:border-emerald-900 dark:bg-emerald-950">
                <p className="font-medium">
                  {s.firstName} {s.lastName}
                </p>
                <p className="text-sm text-slate-700 dark:text-slate-300" data-testid="activity">
                  {exam !== null ? `En évaluation : ${exams[exam] ?? `évaluation n° ${exam}`}` : title ? `Sur « ${title} »` : "En ligne"}
                </p>
              </li>
            );
          })}
        </ul>
      )}
      {others.length > 0 && <p className="mt-2 text-sm text-slate-600 dark:text-slate-300">Et {others.length} autre{others.length > 1 ? "s" : ""} personne{others.length > 1 ? "s" : ""} (hors élèves).</p>}
    </Card>
  );
}

function Roster({ cls, students, progress, online, onRemoved }: { cls: Cls; students: Student[]; progress: ClassProgress | null | undefined; online: Online; onRemoved: () => void }) {
  const grid = progressGrid(progress);
  const sorted = [...students].sort((a, b) => `${a.lastName} ${a.firstName}`.localeCompare(`${b.lastName} ${b.firstName}`, "fr"));
  return (
    <Card title="Élèves et progression" id="eleves">
      {students.length === 0 ? (
        <p className="text-slate-700 dark:text-slate-300">Aucun élève pour l&apos;instant : donnez-leur le code de la classe ou invitez-les.</p>
      ) : (
        <>
          {grid.courses.length === 0 && (
            <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">Aucun cours n&apos;est encore assigné à cette classe : la progression apparaîtra ici.</p>
          )}
          <div className="relative overflow-x-auto" tabIndex={0} role="region" aria-labelledby="eleves-titre">
            <table className="w-full border-separate border-spacing-1 text-sm" data-testid="roster">
              <caption className="sr-only">Élèves de la classe, progression par cours (en pourcentage) et dernière activité</caption>
              <thead>
                <tr>
                  <th scope="col" className="px-2 py-1 text-left">
                    Élève
                  </th>
                  {grid.courses.map((c) => (
                    <th key={c.id} scope="col" className="max-w-32 px-2 py-1 text-left align-bottom font-medium">
                      {c.title}
                    </th>
                  ))}
                  <th scope="col" className="px-2 py-1 text-left">
                    Dernière activité
                  </th>
                  <th scope="col" className="px-2 py-1 text-left">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((s) => {
                  const last = grid.lastActivity(s.id);
                  return (
                    <tr key={s.id} data-testid="roster-row">
                      <th scope="row" className="px-2 py-1 text-left font-medium">
                        {s.firstName} {s.lastName}
                        {s.id in online && <span className="ml-2 rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-medium text-emerald-900">en ligne</span>}
                        <span className="block text-xs font-normal text-slate-600 dark:text-slate-300">{s.email}</span>
                        <Link href={`/bilan/${s.id}`} className="block text-xs font-normal text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
                          Bilan imprimable<span className="sr-only"> de {s.firstName} {s.lastName}</span>
                        </Link>
                      </th>
                      {grid.courses.map((c) => {
                        const v = grid.cell(s.id, c.id) ?? 0;
                        return (
                          <td key={c.id} className={`rounded px-2 py-1 text-center tabular-nums ${heatClass(v)}`}>
                            {v} %
                          </td>
                        );
                      })}
                      <td className="whitespace-nowrap px-2 py-1 text-slate-700 dark:text-slate-300">{last ? shortDateTime(last) : `— (inscrit le ${formatShortDate(s.joinedAt)})`}</td>
                      <td className="px-2 py-1">
                        <ConfirmDialog
                          trigger={
                            <button type="button" className={`${SECONDARY_BUTTON} py-1 text-sm`} disabled={cls.archived}>
                              Retirer<span className="sr-only"> {s.firstName} {s.lastName}</span>
                            </button>
                          }
                          title={`Retirer ${s.firstName} ${s.lastName} de la classe ?`}
                          description="L'élève n'aura plus accès aux cours et évaluations de la classe. Ses résultats sont conservés ; vous pourrez l'inviter de nouveau."
                          confirmLabel="Retirer de la classe"
                          destructive
                          onConfirm={async () => {
                            const { error } = await api.DELETE("/api/classes/{id}/students/{studentId}", { params: { path: { id: cls.id, studentId: s.id } } });
                            if (error) return errorMessage(error);
                            onRemoved();
                          }}
                        />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
