"use client";

import Link from "next/link";
import { useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CLASS_LEVELS, classLevelOf, formatDate } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { Button, Card, ErrorAlert, Field, Loading } from "@/components/ui";
import { AT_RISK_REASONS, currentSchoolYear } from "./classes";

const TEACHER = ["teacher"];

/** The teacher's home: their classes, a summary of the dashboard, a new class. */
export function TeacherClasses() {
  const { allowed, user } = useRequireRole(TEACHER);
  const { revision } = useNotifications();
  const { data: classes, error, settled: classesSettled, reload } = useLoader(allowed, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }), revision);
  const { data: dashboard, error: dashError, settled: dashboardSettled } = useLoader(allowed, () => api.GET("/api/dashboard/teacher"), revision);

  // The page comes whole, once both have answered: the summary arriving after the
  // classes pushed the list down, under the pointer (tests/e2e/layout.spec.ts, l2).
  const settled = classesSettled && dashboardSettled;

  if (!allowed) return <Loading />;
  const active = classes?.classes.filter((c) => !c.archived) ?? [];
  const archived = classes?.classes.filter((c) => c.archived) ?? [];
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Mes classes</h1>
        <p className="text-slate-700 dark:text-slate-300">Bonjour {user?.firstName}</p>
      </div>
      <ErrorAlert message={error ?? dashError} />
      {!settled ? (
        <Loading />
      ) : (
        <>
          {dashboard && <Summary dashboard={dashboard} />}
          <div className="grid items-start gap-6 lg:grid-cols-[2fr_1fr]">
            <div className="space-y-6">
              <Card title="Classes actives" id="classes-actives">
                {active.length === 0 ? (
                  <p className="text-slate-700 dark:text-slate-300">Aucune classe active pour l&apos;instant : créez-en une.</p>
                ) : (
                  <ClassList classes={active} />
                )}
              </Card>
              {archived.length > 0 && (
                <Card title="Classes archivées" id="classes-archivees">
                  <ClassList classes={archived} />
                </Card>
              )}
            </div>
            <NewClass onCreated={reload} />
          </div>
        </>
      )}
    </div>
  );
}

function ClassList({ classes }: { classes: Schemas["ClassView"][] }) {
  return (
    <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="class-list">
      {classes.map((c) => (
        <li key={c.id} className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1 py-3">
          <div>
            <Link href={`/enseignant/classes/${c.id}`} className="font-medium text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
              {c.name}
            </Link>
            <p className="text-sm text-slate-600 dark:text-slate-300">
              {CLASS_LEVELS[c.level]} · {c.schoolYear} · {c.studentCount} élève{c.studentCount > 1 ? "s" : ""}
            </p>
          </div>
          <p className="text-sm text-slate-700 dark:text-slate-300">
            {c.archived ? (
              "Archivée"
            ) : c.joinCodeEnabled === false ? (
              "Code désactivé"
            ) : (
              <>
                Code : <span className="font-mono font-semibold tracking-wider">{c.joinCode}</span>
              </>
            )}
          </p>
        </li>
      ))}
    </ul>
  );
}

function Summary({ dashboard }: { dashboard: Schemas["TeacherDashboard"] }) {
  const atRisk = dashboard.classes.flatMap((c) => c.studentsAtRisk.map((s) => ({ ...s, className: c.name, classId: c.classId })));
  const queue = dashboard.gradingQueue.length;
  return (
    <div className="grid gap-4 md:grid-cols-2">
      <Card title="Copies à corriger" id="a-corriger">
        <p className="text-3xl font-bold" data-testid="grading-queue">
          {queue}
        </p>
        <p className="text-slate-700 dark:text-slate-300">
          {queue === 0 ? "Aucune copie n'attend de correction." : `copie${queue > 1 ? "s" : ""} en attente de correction`}
        </p>
      </Card>
      <Card title="Élèves à suivre" id="a-suivre">
        {atRisk.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300">Aucun élève en difficulté signalé.</p>
        ) : (
          <ul className="space-y-2" data-testid="at-risk">
            {atRisk.slice(0, 8).map((s) => (
              <li key={`${s.classId}-${s.studentId}`}>
                <span className="font-medium">{s.name}</span>{" "}
                <span className="text-sm text-slate-600 dark:text-slate-300">
                  ({s.className}) — {s.reasons.map((r) => AT_RISK_REASONS[r] ?? r).join(", ")}
                  {s.lastActivity ? ` · dernière activité ${formatDate(s.lastActivity)}` : ""}
                </span>
              </li>
            ))}
            {atRisk.length > 8 && <li className="text-sm text-slate-600 dark:text-slate-300">… et {atRisk.length - 8} autres</li>}
          </ul>
        )}
      </Card>
    </div>
  );
}

function NewClass({ onCreated }: { onCreated: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Schemas["ClassView"] | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body = { name: String(f.get("name") ?? ""), level: classLevelOf(f.get("level")) ?? "terminale", schoolYear: String(f.get("schoolYear") ?? "").trim() };
    setBusy(true);
    setError(null);
    setErrors({});
    setCreated(null);
    const { data, error: apiError } = await api.POST("/api/classes", { body });
    setBusy(false);
    if (data) {
      setCreated(data.class);
      form.reset();
      onCreated();
    } else {
      setErrors(fieldErrors(apiError));
      setError(errorMessage(apiError));
    }
  }

  return (
    <Card title="Nouvelle classe" id="nouvelle-classe">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <ErrorAlert message={error} />
        {created && (
          <p role="status" className="rounded-md border border-emerald-300 bg-emerald-50 px-3 py-2 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100">
            Classe créée.{" "}
            <Link href={`/enseignant/classes/${created.id}`} className="font-medium underline">
              Ouvrir {created.name}
            </Link>
          </p>
        )}
        <Field id="classe-nom" name="name" label="Nom de la classe" hint="Par exemple : Terminale NSI — groupe 2" error={errors.name} required maxLength={100} />
        <div className="flex flex-col gap-1">
          <label htmlFor="classe-niveau" className="font-medium">
            Niveau
          </label>
          <select
            id="classe-niveau"
            name="level"
            defaultValue="terminale"
            aria-invalid={errors.level ? true : undefined}
            aria-describedby={errors.level ? "classe-niveau-erreur" : undefined}
            className="rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
          >
            <option value="premiere">Première</option>
            <option value="terminale">Terminale</option>
          </select>
          {errors.level && (
            <p id="classe-niveau-erreur" className="text-sm text-red-700 dark:text-red-300">
              {errors.level}
            </p>
          )}
        </div>
        <Field id="classe-annee" name="schoolYear" label="Année scolaire" hint="Sous la forme 2026-2027" defaultValue={currentSchoolYear()} error={errors.schoolYear} required />
        <Button type="submit" disabled={busy}>
          {busy ? "Création…" : "Créer la classe"}
        </Button>
      </form>
    </Card>
  );
}
