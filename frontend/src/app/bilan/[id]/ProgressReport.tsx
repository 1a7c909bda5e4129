"use client";

// A student's progress report, made to be printed (or saved as PDF by the browser):
// the print styles hide the site's header and the buttons, and keep tables whole.
import { api } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { ASSESSMENT_TYPES, CLASS_LEVELS, formatDate, formatDateTime, formatNumber, gradeOn20 } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { Button, ErrorAlert, Loading } from "@/components/ui";

const ANYONE = ["student", "parent", "teacher", "admin"];

export function ProgressReport({ id }: { id: string }) {
  const { allowed } = useRequireRole(ANYONE);
  const valid = /^\d+$/.test(id);
  const { data, error } = useLoader(allowed && valid, () => api.GET("/api/students/{id}/report", { params: { path: { id: Number(id) } } }), id);
  if (!valid) return <ErrorAlert message="Élève introuvable." />;
  if (!allowed) return <Loading />;
  if (!data) return error ? <ErrorAlert message={error} /> : <Loading />;
  const s = data.student;
  return (
    <article className="report mx-auto max-w-3xl space-y-6 bg-white text-slate-900 print:max-w-none" data-testid="progress-report">
      <header className="flex flex-wrap items-start justify-between gap-3 border-b border-slate-300 pb-3">
        <div>
          <p className="text-sm text-slate-700">Nexus Réussite — bilan de progression</p>
          <h1 className="text-2xl font-bold">
            {s.firstName} {s.lastName}
          </h1>
          <p className="text-slate-700">
            {[s.classLevel ? (CLASS_LEVELS[s.classLevel] ?? s.classLevel) : null, data.classes.join(", ") || null].filter(Boolean).join(" · ")}
          </p>
          <p className="text-sm text-slate-700">Établi le {formatDateTime(data.generatedAt)}</p>
        </div>
        <Button type="button" className="print:hidden" onClick={() => window.print()}>
          Imprimer ou enregistrer en PDF
        </Button>
      </header>

      <section aria-labelledby="bilan-moyenne" className="break-inside-avoid">
        <h2 id="bilan-moyenne" className="text-lg font-semibold">
          Moyenne des évaluations corrigées
        </h2>
        <p className="text-3xl font-bold tabular-nums" data-testid="report-average">
          {data.averageScorePercentage == null ? "—" : `${formatNumber(Math.round(data.averageScorePercentage * 2) / 10)}/20`}
        </p>
      </section>

      <section aria-labelledby="bilan-notes" className="break-inside-avoid">
        <h2 id="bilan-notes" className="mb-2 text-lg font-semibold">
          Résultats
        </h2>
        {data.results.length === 0 ? (
          <p>Aucune évaluation corrigée pour l&apos;instant.</p>
        ) : (
          <div className="overflow-x-auto print:overflow-visible" tabIndex={0} role="region" aria-label="Résultats par évaluation">
            <table className="w-full border-collapse text-left text-sm" data-testid="report-results">
              <caption className="sr-only">Meilleure tentative corrigée par évaluation</caption>
              <thead>
                <tr className="border-b border-slate-300">
                  <th scope="col" className="py-1 pr-2">Évaluation</th>
                  <th scope="col" className="py-1 pr-2">Type</th>
                  <th scope="col" className="py-1 pr-2">Note</th>
                  <th scope="col" className="py-1 pr-2">Sur 20</th>
                  <th scope="col" className="py-1">Corrigée le</th>
                </tr>
              </thead>
              <tbody>
                {data.results.map((r) => (
                  <tr key={r.assessmentId} className="border-b border-slate-200 break-inside-avoid">
                    <td className="py-1 pr-2">{r.title}</td>
                    <td className="py-1 pr-2">{ASSESSMENT_TYPES[r.type] ?? r.type}</td>
                    <td className="py-1 pr-2 tabular-nums">
                      {formatNumber(r.score)} / {formatNumber(r.maxScore)}
                    </td>
                    <td className="py-1 pr-2 tabular-nums">{gradeOn20(r.score, r.maxScore)}</td>
                    <td className="py-1">{formatDate(r.gradedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="bilan-cours" className="break-inside-avoid">
        <h2 id="bilan-cours" className="mb-2 text-lg font-semibold">
          Progression dans les cours
        </h2>
        {data.courses.length === 0 ? (
          <p>Aucun cours commencé.</p>
        ) : (
          <div className="overflow-x-auto print:overflow-visible" tabIndex={0} role="region" aria-label="Progression par cours">
            <table className="w-full border-collapse text-left text-sm" data-testid="report-courses">
              <caption className="sr-only">Avancement par cours</caption>
              <thead>
                <tr className="border-b border-slate-300">
                  <th scope="col" className="py-1 pr-2">Cours</th>
                  <th scope="col" className="py-1 pr-2">Avancement</th>
                  <th scope="col" className="py-1">Terminé le</th>
                </tr>
              </thead>
              <tbody>
                {data.courses.map((c) => (
                  <tr key={c.courseId} className="border-b border-slate-200 break-inside-avoid">
                    <td className="py-1 pr-2">{c.title}</td>
                    <td className="py-1 pr-2 tabular-nums">{c.progressPercentage} %</td>
                    <td className="py-1">{c.completedAt ? formatDate(c.completedAt) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </article>
  );
}
