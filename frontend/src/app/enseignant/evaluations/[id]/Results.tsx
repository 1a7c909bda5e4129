"use client";

// Results: releasing the corrections (PATCH answersReleased), the attempts per student
// (GET /api/assessments/{id}/attempts) and, from each attempt handed in
// (GET /api/attempts/{id}), how every question went.
import Link from "next/link";
import { useEffect, useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { formatDateTime, formatNumber, gradeOn20 } from "@/lib/format";
import { KIND_NAMES, autoGraded, questionStats } from "@/lib/assessmentBuilder";
import { Card, ErrorAlert, SuccessNote } from "@/components/ui";
import { secondary } from "./styles";

type Teacher = Schemas["TeacherAssessment"];
type Summary = Schemas["AttemptSummary"];
type Attempt = Schemas["AttemptView"];

export const STATUS_LABELS: Record<string, string> = {
  in_progress: "En cours",
  submitted: "À corriger",
  graded: "Notée",
  refused: "Refusée (retard)",
};

export function Release({ assessment, onChanged }: { assessment: Teacher; onChanged: (a: Teacher) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const released = assessment.answersReleased;
  return (
    <Card title="Correction" id="correction-publiee">
      <p className="mb-3 text-slate-700 dark:text-slate-300">
        Chaque élève reçoit sa note dès que sa copie est notée. Le détail question par question (bonnes réponses, explications, vos commentaires)
        n&apos;est visible par les élèves qu&apos;une fois la correction publiée.
      </p>
      <p className="mb-3 font-medium" data-testid="etat-correction">
        {released ? "La correction est publiée." : "La correction n'est pas publiée."}
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <button
          type="button"
          className={secondary}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            setDone(null);
            const { data, error: err } = await api.PATCH("/api/assessments/{id}", {
              params: { path: { id: assessment.id } },
              body: { answersReleased: !released },
            });
            setBusy(false);
            if (data) {
              setDone(released ? "Correction masquée." : "Correction publiée : les élèves voient le détail de leur copie notée.");
              onChanged(data.assessment);
            } else setError(errorMessage(err));
          }}
        >
          {released ? "Masquer la correction" : "Publier la correction"}
        </button>
        <ErrorAlert message={error} />
        <SuccessNote message={done} />
      </div>
    </Card>
  );
}

export function Results({ assessment, attempts, onChanged }: { assessment: Teacher; attempts: Summary[]; onChanged: (a: Teacher) => void }) {
  const sorted = [...attempts].sort((a, b) => a.studentName.localeCompare(b.studentName, "fr") || a.attemptNumber - b.attemptNumber);
  const handedIn = attempts.filter((a) => a.status !== "in_progress");
  const graded = attempts.filter((a) => a.status === "graded" && a.score != null && a.maxScore);
  const average = graded.length > 0 ? graded.reduce((s, a) => s + (a.score! / a.maxScore!) * 20, 0) / graded.length : null;
  return (
    <div className="space-y-6">
      <Release assessment={assessment} onChanged={onChanged} />
      <Card title="Par élève" id="par-eleve">
        <p className="mb-3 text-slate-700 dark:text-slate-300" data-testid="resume-resultats">
          {attempts.length === 0
            ? "Aucune tentative pour l'instant."
            : `${handedIn.length} copie${handedIn.length > 1 ? "s" : ""} rendue${handedIn.length > 1 ? "s" : ""}, ${graded.length} notée${graded.length > 1 ? "s" : ""}${
                average !== null ? ` · moyenne ${formatNumber(Math.round(average * 10) / 10)}/20` : ""
              }.`}
        </p>
        {attempts.length > 0 && (
          <div className="relative overflow-x-auto" tabIndex={0} role="region" aria-labelledby="par-eleve-titre">
            <table className="w-full text-left text-sm" data-testid="resultats-eleves">
              <caption className="sr-only">Tentatives par élève : statut, date de remise, note</caption>
              <thead>
                <tr className="border-b border-slate-200 dark:border-slate-700">
                  <th scope="col" className="py-2 pr-3">
                    Élève
                  </th>
                  <th scope="col" className="py-2 pr-3">
                    Tentative
                  </th>
                  <th scope="col" className="py-2 pr-3">
                    Statut
                  </th>
                  <th scope="col" className="py-2 pr-3">
                    Rendue
                  </th>
                  <th scope="col" className="py-2 pr-3">
                    Note
                  </th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((a) => (
                  <tr key={a.id} className="border-b border-slate-100 dark:border-slate-800">
                    <th scope="row" className="py-2 pr-3 font-medium">
                      {a.studentName}
                    </th>
                    <td className="py-2 pr-3">{a.attemptNumber}</td>
                    <td className="py-2 pr-3">
                      {STATUS_LABELS[a.status] ?? a.status}
                      {a.isLate && a.status !== "refused" ? " · en retard" : ""}
                      {(a.status === "submitted" || a.status === "refused") && (
                        <>
                          {" "}
                          <Link
                            href={`/enseignant/evaluations/${assessment.id}?vue=correction&copie=${a.id}`}
                            className="text-accent-800 underline underline-offset-2 dark:text-accent-100"
                          >
                            Corriger<span className="sr-only"> la copie de {a.studentName}</span>
                          </Link>
                        </>
                      )}
                    </td>
                    <td className="py-2 pr-3">{a.submittedAt ? formatDateTime(a.submittedAt) : "—"}</td>
                    <td className="py-2 pr-3">
                      {a.status === "graded" ? (
                        <span className="font-semibold">{gradeOn20(a.score, a.maxScore)}</span>
                      ) : a.score != null && a.status === "submitted" ? (
                        <span>{formatNumber(a.score)} pts provisoires</span>
                      ) : (
                        "—"
                      )}
                      {a.status === "graded" && a.score != null && a.maxScore != null ? (
                        <span className="block text-slate-600 dark:text-slate-300">
                          {formatNumber(a.score)} / {formatNumber(a.maxScore)}
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <PerQuestion assessment={assessment} attempts={handedIn} />
    </div>
  );
}

function PerQuestion({ assessment, attempts }: { assessment: Teacher; attempts: Summary[] }) {
  const [details, setDetails] = useState<Record<number, Attempt>>({});
  const [error, setError] = useState<string | null>(null);
  const key = attempts.map((a) => `${a.id}:${a.status}`).join(",");
  useEffect(() => {
    let alive = true;
    void (async () => {
      // One at a time: a class is tens of copies, and the API counts calls per minute.
      for (const a of attempts) {
        if (!alive) return;
        if (details[a.id]?.status === a.status) continue;
        const { data, error: err } = await api.GET("/api/attempts/{id}", { params: { path: { id: a.id } } });
        if (!alive) return;
        if (data) setDetails((d) => ({ ...d, [a.id]: data.attempt }));
        else setError(errorMessage(err));
      }
    })();
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const loaded = attempts.map((a) => details[a.id]).filter((a): a is Attempt => !!a);
  const stats = questionStats(
    assessment.questions.map((q) => q.id),
    loaded,
  );
  return (
    <Card title="Par question" id="par-question">
      <ErrorAlert message={error} />
      {attempts.length === 0 ? (
        <p className="text-slate-700 dark:text-slate-300">Les statistiques par question apparaîtront quand des copies seront rendues.</p>
      ) : (
        <div className="relative overflow-x-auto" tabIndex={0} role="region" aria-labelledby="par-question-titre">
          <table className="w-full text-left text-sm" data-testid="resultats-questions">
            <caption className="sr-only">
              Réussite par question sur {loaded.length} copie{loaded.length > 1 ? "s" : ""} rendue{loaded.length > 1 ? "s" : ""}
            </caption>
            <thead>
              <tr className="border-b border-slate-200 dark:border-slate-700">
                <th scope="col" className="py-2 pr-3">
                  Question
                </th>
                <th scope="col" className="py-2 pr-3">
                  Répondu
                </th>
                <th scope="col" className="py-2 pr-3">
                  Juste
                </th>
                <th scope="col" className="py-2 pr-3">
                  Points moyens
                </th>
              </tr>
            </thead>
            <tbody>
              {assessment.questions.map((q, i) => {
                const s = stats[i]!;
                const pending = loaded.length - s.graded;
                return (
                  <tr key={q.id} className="border-b border-slate-100 dark:border-slate-800">
                    <th scope="row" className="py-2 pr-3 font-medium">
                      {i + 1}. <span className="font-normal">{KIND_NAMES[q.type]}</span>
                      <span className="block max-w-xs truncate font-normal text-slate-600 dark:text-slate-300">{q.prompt.replace(/[*_`#>]/g, "")}</span>
                    </th>
                    <td className="py-2 pr-3">
                      {s.answered} / {loaded.length}
                    </td>
                    <td className="py-2 pr-3">
                      {s.graded > 0 ? `${s.correct} / ${s.graded}` : "—"}
                      {pending > 0 && !autoGraded(q.type) ? <span className="block text-slate-600 dark:text-slate-300">{pending} à corriger</span> : null}
                    </td>
                    <td className="py-2 pr-3">{s.graded > 0 ? `${formatNumber(Math.round((s.points / s.graded) * 100) / 100)} / ${formatNumber(q.points)}` : "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
