"use client";

import Link from "next/link";
import { useState } from "react";
import { api, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { ASSESSMENT_TYPES, formatDateTime, gradeOn20, formatNumber } from "@/lib/format";
import { GROUP_ORDER, GROUP_TITLES, attemptsLeft, formatDuration, groupOf, plural, type Group } from "@/lib/assessments";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { ErrorAlert, Loading } from "@/components/ui";

const STUDENT = ["student"];

type Row = Schemas["AssessmentSummary"];

const GROUP_EMPTY: Record<Group, string> = {
  en_cours: "Aucune évaluation en cours.",
  en_retard: "Rien en retard.",
  a_venir: "Aucune évaluation à venir.",
  terminees: "Aucune évaluation terminée pour l'instant.",
};

/** "19 h 02" never split across two lines. */
const keepTime = (text: string) => text.replace(/ h /g, "\u00a0h\u00a0");

function windowText(row: Row, now: number): string {
  const opens = row.opensAt ? Date.parse(row.opensAt) : null;
  if (opens && opens > now) return `Ouvre ${formatDateTime(row.opensAt)}`;
  if (row.closesAt) return `${Date.parse(row.closesAt) > now ? "À rendre avant" : "Fermée depuis"} ${formatDateTime(row.closesAt)}`;
  return "Sans date limite";
}

function statusText(row: Row, now: number): { text: string; tone: "neutral" | "warn" | "ok" } {
  switch (row.latestStatus) {
    case "in_progress":
      return row.latestDeadlineAt && Date.parse(row.latestDeadlineAt) <= now
        ? { text: "Temps écoulé : copie à rendre", tone: "warn" }
        : { text: `Tentative en cours${row.latestDeadlineAt ? `, jusqu'à ${formatDateTime(row.latestDeadlineAt)}` : ""}`, tone: "warn" };
    case "submitted":
      return { text: "Rendue, en attente de correction", tone: "neutral" };
    case "graded":
      return { text: "Corrigée", tone: "ok" };
    case "refused":
      return { text: "Rendue en retard : non notée", tone: "warn" };
    default:
      return row.closesAt && Date.parse(row.closesAt) <= now
        ? { text: "Non rendue", tone: "warn" }
        : row.opensAt && Date.parse(row.opensAt) > now
          ? { text: "Pas encore ouverte", tone: "neutral" }
          : { text: "À faire", tone: "neutral" };
  }
}

const TONES = {
  neutral: "bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100",
  warn: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-100",
  ok: "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100",
};

function AssessmentItem({ row, now }: { row: Row; now: number }) {
  const status = statusText(row, now);
  const grade = row.latestStatus === "graded" ? gradeOn20(row.latestScore, row.latestMaxScore) : null;
  const left = attemptsLeft(row);
  return (
    <li className="flex flex-col gap-2 rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:flex-row sm:items-start sm:justify-between dark:border-slate-800 dark:bg-slate-900">
      <div className="min-w-0 space-y-1">
        <h3 className="text-lg font-semibold">
          <Link href={`/eleve/evaluations/${row.id}`} className="text-accent-800 underline-offset-2 hover:underline dark:text-accent-100">
            {row.title}
          </Link>
        </h3>
        <p className="flex flex-wrap gap-x-3 gap-y-1 text-sm text-slate-700 dark:text-slate-300">
          <span className="rounded-full bg-accent-50 px-2 py-0.5 font-medium text-accent-800 dark:bg-slate-800 dark:text-accent-100">
            {ASSESSMENT_TYPES[row.type] ?? row.type}
          </span>
          <span>{keepTime(windowText(row, now))}</span>
          <span>{row.timeLimitMinutes ? `Durée : ${formatDuration(row.timeLimitMinutes)}` : "Sans limite de temps"}</span>
          <span>
            {left > 0 ? `${plural(left, "tentative restante", "tentatives restantes")} sur ${row.maxAttempts}` : `Tentatives épuisées (${row.maxAttempts})`}
          </span>
        </p>
      </div>
      <div className="flex shrink-0 flex-row items-center gap-2 sm:flex-col sm:items-end">
        <span className={`rounded-full px-2.5 py-0.5 text-sm font-medium ${TONES[status.tone]}`}>{status.text}</span>
        {grade && (
          <span className="text-lg font-semibold">
            <span className="sr-only">Note : </span>
            {grade}
          </span>
        )}
        {row.latestStatus === "submitted" && row.latestScore != null && row.latestMaxScore != null && (
          <span className="text-sm text-slate-700 dark:text-slate-300">
            {formatNumber(row.latestScore)} / {formatNumber(row.latestMaxScore)} pts provisoires
          </span>
        )}
      </div>
    </li>
  );
}

export function AssessmentList() {
  const { allowed } = useRequireRole(STUDENT);
  const { revision } = useNotifications();
  const { data, error } = useLoader(allowed, () => api.GET("/api/assessments", { params: { query: { limit: 100 } } }), revision);
  // The time the list was loaded: groups do not move while one reads.
  const [now] = useState(() => Date.now());

  if (!allowed) return <Loading />;
  const rows = data?.assessments ?? [];
  const groups = new Map<Group, Row[]>(GROUP_ORDER.map((g) => [g, []]));
  for (const row of rows) groups.get(groupOf(row, now))!.push(row);
  // Most recent first among the finished ones.
  groups.get("terminees")!.reverse();

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Évaluations</h1>
        <p className="text-slate-700 dark:text-slate-300">Les quiz, TP et devoirs de vos classes : ce qui est à faire, en cours et vos résultats.</p>
      </div>
      <ErrorAlert message={error} />
      {!data && !error && <Loading />}
      {data && rows.length === 0 && (
        <p role="status" className="rounded-xl border border-slate-200 bg-white p-5 text-slate-700 dark:border-slate-800 dark:bg-slate-900 dark:text-slate-300">
          Aucune évaluation pour l&apos;instant. Elles apparaissent ici dès que votre enseignant en publie une dans votre classe.
        </p>
      )}
      {data &&
        rows.length > 0 &&
        GROUP_ORDER.map((g) => {
          const list = groups.get(g)!;
          if (list.length === 0 && (g === "en_cours" || g === "en_retard")) return null;
          return (
            <section key={g} aria-labelledby={`groupe-${g}`} data-testid={`evaluations-${g}`}>
              <h2 id={`groupe-${g}`} className="mb-3 text-lg font-semibold">
                {GROUP_TITLES[g]} <span className="font-normal text-slate-600 dark:text-slate-300">({list.length})</span>
              </h2>
              {list.length === 0 ? (
                <p className="text-slate-600 dark:text-slate-300">{GROUP_EMPTY[g]}</p>
              ) : (
                <ul className="space-y-3">
                  {list.map((row) => (
                    <AssessmentItem key={row.id} row={row} now={now} />
                  ))}
                </ul>
              )}
            </section>
          );
        })}
    </div>
  );
}
