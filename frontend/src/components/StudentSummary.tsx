// One student's dashboard (GET /api/dashboard/student, or one child of the parent's):
// progress per course, what is due, recent results.
import Link from "next/link";
import type { Schemas } from "@/lib/api/client";
import { ASSESSMENT_TYPES, ATTEMPT_STATUS, formatDateTime, formatNumber, formatShortDate, gradeOn20 } from "@/lib/format";
import { BarChart, ScoreChart, type Bar, type ScorePoint } from "./charts";
import { Card, ProgressBar } from "./ui";

type Dashboard = Schemas["StudentDashboard"];

/** The graded results as grades on 20, oldest first (the chart's points). */
export function scorePoints(results: Dashboard["recentResults"]): ScorePoint[] {
  return results
    .filter((r) => r.submittedAt && r.score != null && r.maxScore != null && r.maxScore > 0)
    .map((r) => ({ date: r.submittedAt!, on20: Math.round((r.score! / r.maxScore!) * 200) / 10, label: r.title }))
    .sort((a, b) => a.date.localeCompare(b.date));
}

/** Sections completed per week, labelled by the week's Monday ("3 nov."). */
export function activityBars(weeks: Dashboard["weeklyActivity"]): Bar[] {
  return weeks.map((w) => ({ label: formatShortDate(`${w.weekStart}T12:00:00Z`), value: w.sectionsCompleted }));
}

/** The first ones, in the API's order; the rest is summed up. */
const DUE_SHOWN = 5;

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="rounded-lg bg-accent-50 px-4 py-3 dark:bg-slate-800">
      <dt className="text-sm text-slate-700 dark:text-slate-300">{label}</dt>
      <dd className="text-2xl font-semibold text-accent-800 dark:text-accent-100">{value}</dd>
    </div>
  );
}

export function StudentSummary({
  dashboard,
  idPrefix,
  headingLevel = 2,
  forParent = false,
}: {
  dashboard: Dashboard;
  idPrefix: string;
  headingLevel?: 2 | 3;
  /** Seen by a parent: "Ses cours", not "Mes cours". */
  forParent?: boolean;
}) {
  const { averages, courses, dueAssessments, recentResults } = dashboard;
  const H = headingLevel === 2 ? "h2" : "h3";
  const points = scorePoints(recentResults);
  const pct = (v: number | null | undefined) => (v == null ? "—" : `${formatNumber(v)} %`);
  return (
    <div className="grid items-start gap-4 md:grid-cols-2">
      <Card className="md:col-span-2">
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          <Stat label="Cours commencés" value={String(averages.coursesStarted)} />
          <Stat label="Cours terminés" value={String(averages.coursesCompleted)} />
          <Stat label="Progression moyenne" value={pct(averages.progressPercentage)} />
          <Stat label="Réussite moyenne" value={pct(averages.scorePercentage)} />
        </dl>
      </Card>

      <section aria-labelledby={`${idPrefix}-cours`} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
          <H id={`${idPrefix}-cours`} className="text-lg font-semibold">
            {forParent ? "Ses cours" : "Mes cours"}
          </H>
          {!forParent && (
            <Link href="/eleve/cours" className="text-accent-800 underline underline-offset-2 dark:text-accent-100">
              Voir tous les cours
            </Link>
          )}
        </div>
        {courses.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-300">Aucun cours commencé pour l&apos;instant.</p>
        ) : (
          <ul className="space-y-4">
            {courses.map((c) => (
              <li key={c.courseId}>
                <div className="mb-1 flex justify-between gap-2">
                  {forParent ? (
                    <span className="font-medium">{c.title}</span>
                  ) : (
                    <Link href={`/eleve/cours/${c.courseId}`} className="font-medium text-accent-800 underline-offset-2 hover:underline dark:text-accent-100">
                      {c.title}
                    </Link>
                  )}
                  <span className="shrink-0 text-slate-700 dark:text-slate-300">{c.progressPercentage} %</span>
                </div>
                <ProgressBar value={c.progressPercentage} label={`Progression : ${c.title}`} />
              </li>
            ))}
          </ul>
        )}
        {dashboard.weeklyActivity.some((w) => w.sectionsCompleted > 0) && (
          <div className="mt-5">
            <BarChart
              id={`${idPrefix}-activite`}
              bars={activityBars(dashboard.weeklyActivity)}
              unit="Sections terminées"
              caption={`Sections terminées par semaine, sur les huit dernières semaines (semaine du lundi indiqué)`}
            />
          </div>
        )}
      </section>

      <section aria-labelledby={`${idPrefix}-evaluations`} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <H id={`${idPrefix}-evaluations`} className="mb-3 text-lg font-semibold">
          Évaluations à venir
        </H>
        {dueAssessments.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-300">Rien à rendre pour le moment.</p>
        ) : (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid={`${idPrefix}-due`}>
            {dueAssessments.slice(0, DUE_SHOWN).map((a) => (
              <li key={a.assessmentId} className="py-2">
                {forParent ? (
                  <p className="font-medium">{a.title}</p>
                ) : (
                  <Link href={`/eleve/evaluations/${a.assessmentId}`} className="font-medium text-accent-800 underline-offset-2 hover:underline dark:text-accent-100">
                    {a.title}
                  </Link>
                )}
                <p className="text-sm text-slate-600 dark:text-slate-300">
                  {ASSESSMENT_TYPES[a.type] ?? a.type}
                  {a.closesAt ? ` · à rendre avant le ${formatDateTime(a.closesAt)}` : " · sans date limite"}
                  {` · tentatives : ${a.attemptsUsed}/${a.maxAttempts}`}
                </p>
              </li>
            ))}
          </ul>
        )}
        {dueAssessments.length > DUE_SHOWN && (
          <p className="mt-2 text-sm text-slate-700 dark:text-slate-300">
            et {dueAssessments.length - DUE_SHOWN} autre{dueAssessments.length - DUE_SHOWN > 1 ? "s" : ""} évaluation
            {dueAssessments.length - DUE_SHOWN > 1 ? "s" : ""} à venir
          </p>
        )}
      </section>

      <section aria-labelledby={`${idPrefix}-resultats`} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm md:col-span-2 dark:border-slate-800 dark:bg-slate-900">
        <H id={`${idPrefix}-resultats`} className="mb-3 text-lg font-semibold">
          Résultats récents
        </H>
        <div className={points.length >= 2 ? "grid items-start gap-6 lg:grid-cols-2" : ""}>
        {points.length >= 2 && (
          <ScoreChart
            id={`${idPrefix}-courbe`}
            points={points}
            caption={`${forParent ? "Ses notes" : "Mes notes"} sur 20, de la plus ancienne à la plus récente (pointillés : 10/20)`}
          />
        )}
        {recentResults.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-300">Aucun résultat pour l&apos;instant.</p>
        ) : (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800">
            {recentResults.map((r) => {
              const on20 = gradeOn20(r.score, r.maxScore);
              return (
                <li key={r.attemptId} className="flex flex-wrap items-baseline justify-between gap-2 py-2">
                  <div>
                    <p className="font-medium">{r.title}</p>
                    <p className="text-sm text-slate-600 dark:text-slate-300">
                      {ATTEMPT_STATUS[r.status] ?? r.status}
                      {r.submittedAt ? ` · rendu le ${formatDateTime(r.submittedAt)}` : ""}
                    </p>
                  </div>
                  {on20 && (
                    <p className="text-right">
                      <span className="text-lg font-semibold">{on20}</span>{" "}
                      <span className="text-sm text-slate-600 dark:text-slate-300">
                        ({formatNumber(r.score ?? 0)}/{formatNumber(r.maxScore ?? 0)} pts)
                      </span>
                    </p>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        </div>
      </section>
    </div>
  );
}
