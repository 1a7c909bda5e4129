"use client";

// The teacher's assessments: drafts and published ones, each a link to its builder and
// results; "Nouvelle évaluation" opens the builder on a blank one.
import Link from "next/link";
import { api, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { ASSESSMENT_TYPES, formatNumber } from "@/lib/format";
import { formatDuration, plural } from "@/lib/assessments";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { Card, ErrorAlert, Loading } from "@/components/ui";

const TEACHER = ["teacher", "admin"];
type Row = Schemas["AssessmentSummary"];

export function TeacherAssessments() {
  const { allowed } = useRequireRole(TEACHER);
  const { revision } = useNotifications();
  const { data, error } = useLoader(allowed, () => api.GET("/api/assessments", { params: { query: { limit: 100 } } }), revision);
  if (!allowed) return <Loading />;
  const rows = data?.assessments ?? [];
  const published = rows.filter((r) => r.isPublished);
  const drafts = rows.filter((r) => !r.isPublished);
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">Mes évaluations</h1>
        <Link
          href="/enseignant/evaluations/nouvelle"
          className="inline-flex items-center justify-center rounded-md bg-accent-700 px-4 py-2 font-medium text-white hover:bg-accent-800"
        >
          Nouvelle évaluation
        </Link>
      </div>
      <p className="text-slate-700 dark:text-slate-300">
        Construisez vos quiz, TP, examens et projets, publiez-les dans vos classes, puis suivez les résultats et corrigez les copies de code et
        les réponses rédigées.
      </p>
      <ErrorAlert message={error} />
      {!data && !error && <Loading />}
      {data && (
        <>
          <Card title="Publiées" id="publiees">
            <List rows={published} empty="Aucune évaluation publiée pour l'instant." testId="published-list" />
          </Card>
          <Card title="Brouillons" id="brouillons">
            <List rows={drafts} empty="Aucun brouillon : « Nouvelle évaluation » en commence un." testId="draft-list" />
          </Card>
        </>
      )}
    </div>
  );
}

function List({ rows, empty, testId }: { rows: Row[]; empty: string; testId: string }) {
  if (rows.length === 0) return <p className="text-slate-700 dark:text-slate-300">{empty}</p>;
  return (
    <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid={testId}>
      {rows.map((r) => (
        <li key={r.id} className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 py-3">
          <Link href={`/enseignant/evaluations/${r.id}`} className="font-medium text-accent-800 underline-offset-2 hover:underline dark:text-accent-100">
            {r.title}
          </Link>
          <span className="text-sm text-slate-700 dark:text-slate-300">
            {ASSESSMENT_TYPES[r.type] ?? r.type}
            {r.maxScore != null ? ` · ${formatNumber(r.maxScore)} points` : ""}
            {r.timeLimitMinutes ? ` · ${formatDuration(r.timeLimitMinutes)}` : " · sans limite de temps"}
            {` · ${plural(r.maxAttempts, "tentative", "tentatives")}`}
          </span>
        </li>
      ))}
    </ul>
  );
}
