"use client";

// The result of an attempt handed in, as the API shows it to its student: the total at
// once (objective questions), "en attente de correction" while the teacher grades code
// and written answers, the detail per question only once the teacher releases it.
import type { Schemas } from "@/lib/api/client";
import { formatDateTime, formatNumber, gradeOn20 } from "@/lib/format";
import { Markdown } from "@/lib/markdown";
import { KIND_LABELS } from "./QuestionField";
import { TestResults } from "./TestResults";

type Attempt = Schemas["AttemptView"];
type StudentAssessment = Schemas["StudentAssessment"];
type Question = Schemas["StudentQuestion"];

const STATUS: Record<string, { label: string; className: string }> = {
  correct: { label: "Juste", className: "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100" },
  partial: { label: "En partie juste", className: "bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-100" },
  incorrect: { label: "Faux", className: "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100" },
  unanswered: { label: "Sans réponse", className: "bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100" },
  pending_review: { label: "À corriger par l'enseignant", className: "bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-100" },
  reviewed: { label: "Corrigé par l'enseignant", className: "bg-accent-50 text-accent-800 dark:bg-slate-800 dark:text-accent-100" },
};

function shown(q: Question | undefined, value: unknown): string | null {
  if (value === null || value === undefined || (typeof value === "string" && value.trim() === "")) return null;
  if (!q) return typeof value === "string" ? value : JSON.stringify(value);
  switch (q.type) {
    case "single_choice":
      return typeof value === "number" ? (q.options?.[value] ?? String(value)) : String(value);
    case "multiple_choice":
      return Array.isArray(value) ? value.map((v) => q.options?.[v as number] ?? String(v)).join(" ; ") || null : String(value);
    case "true_false":
      return value === true ? "Vrai" : value === false ? "Faux" : String(value);
    case "ordering":
      return Array.isArray(value) ? value.map((id) => q.items?.find((i) => i.id === id)?.text ?? String(id)).join(" → ") : String(value);
    case "numeric":
      return typeof value === "number" ? formatNumber(value) : String(value);
    default:
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}

export function AttemptResult({ attempt, assessment }: { attempt: Attempt; assessment: StudentAssessment }) {
  const grade = gradeOn20(attempt.score, attempt.maxScore);
  const detailed = attempt.results.some((r) => r.grade);
  const byId = new Map(assessment.questions.map((q) => [q.id, q]));
  const points = attempt.score != null && attempt.maxScore != null ? `${formatNumber(attempt.score)} / ${formatNumber(attempt.maxScore)} points` : null;

  return (
    <section aria-labelledby="resultat-titre" className="space-y-4 rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900" data-testid="resultat">
      <h2 id="resultat-titre" tabIndex={-1} className="text-xl font-semibold">
        Résultat{attempt.attemptNumber > 1 ? ` de la tentative ${attempt.attemptNumber}` : ""}
      </h2>
      {attempt.status === "graded" && (
        <div className="flex flex-wrap items-end gap-x-6 gap-y-2">
          <p>
            <span className="block text-sm text-slate-700 dark:text-slate-300">Note</span>
            <span className="text-4xl font-bold text-accent-800 dark:text-accent-100" data-testid="note">
              {grade}
            </span>
          </p>
          <p className="text-slate-700 dark:text-slate-300">
            {points}
            {attempt.gradedAt ? ` · note publiée ${formatDateTime(attempt.gradedAt)}` : ""}
          </p>
        </div>
      )}
      {attempt.status === "submitted" && (
        <div className="space-y-1">
          <p className="text-lg font-semibold" data-testid="note">
            En attente de correction
          </p>
          <p className="text-slate-700 dark:text-slate-300">
            Copie rendue {formatDateTime(attempt.submittedAt)}. Les questions de code et les réponses rédigées sont corrigées par votre enseignant : vous
            serez prévenu dès que la note sera publiée.
          </p>
          {points && <p className="text-slate-700 dark:text-slate-300">Points déjà obtenus aux questions corrigées automatiquement : {points} (provisoire).</p>}
        </div>
      )}
      {attempt.status === "refused" && (
        <p className="text-slate-800 dark:text-slate-200" data-testid="note">
          Copie rendue après le délai {attempt.submittedAt ? `(${formatDateTime(attempt.submittedAt)})` : ""} : elle est transmise à votre enseignant mais
          n&apos;est pas notée.
        </p>
      )}
      {attempt.isLate && attempt.status !== "refused" && <p className="text-amber-900 dark:text-amber-200">Copie rendue en retard.</p>}
      {attempt.feedback && (
        <div>
          <h3 className="font-semibold">Commentaire de votre enseignant</h3>
          <p className="whitespace-pre-line text-slate-800 dark:text-slate-200">{attempt.feedback}</p>
        </div>
      )}

      {detailed ? (
        <div>
          <h3 className="mb-2 font-semibold">Correction question par question</h3>
          <ol className="space-y-3">
            {attempt.results.map((r, i) => {
              const q = byId.get(r.questionId);
              const status = r.grade ? STATUS[r.grade.status] : undefined;
              const mine = shown(q, r.answer);
              const right = shown(q, r.correctAnswer);
              const code = q?.type === "code";
              return (
                <li key={r.questionId} className="rounded-md border border-slate-200 p-3 dark:border-slate-700">
                  <div className="flex flex-wrap items-baseline justify-between gap-2">
                    <p className="font-semibold">
                      Question {i + 1}
                      {q ? <span className="font-normal text-slate-700 dark:text-slate-300"> · {KIND_LABELS[q.type] ?? q.type}</span> : null}
                    </p>
                    <p className="flex items-center gap-2">
                      {status && <span className={`rounded-full px-2 py-0.5 text-sm font-medium ${status.className}`}>{status.label}</span>}
                      {r.grade && (
                        <span>
                          {formatNumber(r.grade.points)} / {formatNumber(r.grade.maxPoints)}
                        </span>
                      )}
                    </p>
                  </div>
                  {q && (
                    <div className="md mt-1 text-slate-800 dark:text-slate-200">
                      <Markdown source={q.prompt} headingOffset={4} />
                    </div>
                  )}
                  <p className="mt-1">
                    <span className="text-slate-700 dark:text-slate-300">Votre réponse : </span>
                    {mine === null ? <em>aucune</em> : code ? null : mine}
                  </p>
                  {/* Focusable: a long line scrolls it, and keyboard users must be able to scroll too. */}
                  {mine !== null && code && <pre tabIndex={0} className="mt-1 overflow-x-auto rounded-md bg-slate-100 p-3 text-sm dark:bg-slate-800">{mine}</pre>}
                  {right !== null && (
                    <p>
                      <span className="text-slate-700 dark:text-slate-300">Réponse attendue : </span>
                      {right}
                    </p>
                  )}
                  {r.grade?.tests && r.grade.tests.length > 0 && (
                    <div className="mt-2">
                      <h4 className="sr-only">Tests de la question {i + 1}</h4>
                      <TestResults results={r.grade.tests} showPoints testId={`tests-${r.questionId}`} />
                    </div>
                  )}
                  {r.grade?.feedback && <p className="mt-1 italic">{r.grade.feedback}</p>}
                  {r.explanation && (
                    <div className="md mt-1 text-slate-800 dark:text-slate-200">
                      <Markdown source={r.explanation} headingOffset={4} />
                    </div>
                  )}
                </li>
              );
            })}
          </ol>
        </div>
      ) : (
        <p className="rounded-md bg-slate-50 px-3 py-2 text-slate-700 dark:bg-slate-800 dark:text-slate-300" data-testid="correction-a-venir">
          {assessment.answersReleased
            ? "La correction est publiée : elle s'affichera ici quand votre copie sera entièrement notée."
            : "Le détail question par question (bonnes réponses, explications) sera visible quand votre enseignant publiera la correction."}
        </p>
      )}
    </section>
  );
}
