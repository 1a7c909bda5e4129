"use client";

// The grading queue: the copies handed in that wait for the teacher (code and written
// answers, and late copies refused under the `refuse` policy). One copy at a time: every
// answer (code highlighted), the automatic grades, points and a comment for each
// question to review, an overall comment; POST /api/attempts/{id}/grade (final, the
// student and their parents are notified).
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { formatDateTime, formatNumber, gradeOn20 } from "@/lib/format";
import { KIND_NAMES, answerText, autoGraded, parseNumber, questionErrorTarget, type ApiQuestion } from "@/lib/assessmentBuilder";
import { CodeBlock } from "@/lib/highlight";
import { Markdown } from "@/lib/markdown";
import { Button, Card, ErrorAlert, Loading } from "@/components/ui";
import { inputClass, labelClass } from "./styles";

type Teacher = Schemas["TeacherAssessment"];
type Summary = Schemas["AttemptSummary"];
type Attempt = Schemas["AttemptView"];

const GRADE_STATUS: Record<string, string> = {
  correct: "Juste",
  partial: "En partie juste",
  incorrect: "Faux",
  unanswered: "Sans réponse",
  pending_review: "À corriger",
  reviewed: "Corrigée",
};

export function Grading({
  assessment,
  attempts,
  selected,
  onGraded,
}: {
  assessment: Teacher;
  attempts: Summary[];
  selected: number | null;
  onGraded: () => void;
}) {
  const router = useRouter();
  const [last, setLast] = useState<string | null>(null);
  const queue = attempts
    .filter((a) => a.status === "submitted" || a.status === "refused")
    .sort((a, b) => (a.submittedAt ?? "").localeCompare(b.submittedAt ?? ""));
  const current = queue.find((a) => a.id === selected) ?? queue[0] ?? null;
  useEffect(() => {
    if (last) document.getElementById("correction-faite")?.focus();
  }, [last]);
  const href = (id: number) => `/enseignant/evaluations/${assessment.id}?vue=correction&copie=${id}`;
  return (
    <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-[16rem_1fr]">
      <Card title="File de correction" id="file">
        {queue.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300" data-testid="file-vide">
            Aucune copie n&apos;attend de correction.
          </p>
        ) : (
          <ul className="space-y-1" data-testid="file-correction">
            {queue.map((a) => (
              <li key={a.id}>
                <Link
                  href={href(a.id)}
                  aria-current={a.id === current?.id ? "true" : undefined}
                  className="block rounded-md px-2 py-1.5 hover:bg-slate-100 aria-[current=true]:bg-accent-50 aria-[current=true]:font-semibold aria-[current=true]:text-accent-800 dark:hover:bg-slate-800 dark:aria-[current=true]:bg-slate-800 dark:aria-[current=true]:text-accent-100"
                >
                  {a.studentName}
                  <span className="block text-sm font-normal text-slate-700 dark:text-slate-300">
                    {a.status === "refused" ? "Rendue en retard (refusée)" : `Rendue ${a.submittedAt ? formatDateTime(a.submittedAt) : ""}`}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
        {last && (
          <p
            id="correction-faite"
            role="status"
            tabIndex={-1}
            className="mt-3 rounded-md border border-emerald-300 bg-emerald-50 px-3 py-2 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100"
          >
            {last}
          </p>
        )}
      </Card>
      {current ? (
        <GradeForm
          key={current.id}
          assessment={assessment}
          summary={current}
          onGraded={(message) => {
            setLast(message);
            onGraded();
            const next = queue.find((a) => a.id !== current.id);
            router.replace(next ? href(next.id) : `/enseignant/evaluations/${assessment.id}?vue=correction`, { scroll: false });
          }}
        />
      ) : null}
    </div>
  );
}

function GradeForm({ assessment, summary, onGraded }: { assessment: Teacher; summary: Summary; onGraded: (message: string) => void }) {
  const { data, error } = useLoader(true, () => api.GET("/api/attempts/{id}", { params: { path: { id: summary.id } } }));
  const [points, setPoints] = useState<Record<string, string>>({});
  const [comments, setComments] = useState<Record<string, string>>({});
  const [feedback, setFeedback] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [focusTick, setFocusTick] = useState(0);
  useEffect(() => {
    if (focusTick) document.querySelector<HTMLElement>("[data-grade-form] [aria-invalid='true']")?.focus();
  }, [focusTick]);
  const attempt: Attempt | null = data?.attempt ?? null;
  if (!attempt) return error ? <ErrorAlert message={error} /> : <Loading label="Chargement de la copie…" />;

  const byId = new Map(attempt.results.map((r) => [r.questionId, r]));
  // Refused late copies were never graded: their code and written answers need points too.
  const toReview = assessment.questions.filter((q) => {
    const g = byId.get(q.id)?.grade;
    return g ? g.status === "pending_review" : !autoGraded(q.type);
  });
  const keys = assessment.questions.map((q) => ({ id: q.id, key: q.id }));

  const submit = async () => {
    setErrors({});
    setGeneral(null);
    const local: Record<string, string> = {};
    const questions: Record<string, { points: number; feedback?: string | null }> = {};
    for (const q of toReview) {
      const raw = points[q.id] ?? "";
      const n = parseNumber(raw);
      if (n === null) local[q.id] = `Points attendus, entre 0 et ${formatNumber(q.points)}.`;
      else questions[q.id] = { points: n, feedback: comments[q.id]?.trim() ? comments[q.id] : null };
    }
    if (Object.keys(local).length > 0) {
      setErrors(local);
      setFocusTick((t) => t + 1);
      return;
    }
    setBusy(true);
    const { data: graded, error: err } = await api.POST("/api/attempts/{id}/grade", {
      params: { path: { id: attempt.id } },
      body: { questions, feedback: feedback.trim() ? feedback : null },
    });
    setBusy(false);
    if (graded) {
      const g = graded.attempt;
      onGraded(`Copie de ${summary.studentName} notée : ${gradeOn20(g.score, g.maxScore) ?? "—"}. L'élève est prévenu.`);
      return;
    }
    const fields = fieldErrors(err);
    const next: Record<string, string> = {};
    for (const [field, message] of Object.entries(fields)) {
      if (field === "questions") {
        const t = questionErrorTarget(message, keys);
        if (t.key) next[t.key] = t.message;
        else setGeneral(message);
      } else if (field === "feedback") next.__feedback = message;
      else setGeneral(message);
    }
    setErrors(next);
    if (Object.keys(fields).length === 0) setGeneral(errorMessage(err));
    setFocusTick((t) => t + 1);
  };

  return (
    <section aria-labelledby="copie-titre" className="min-w-0 space-y-4 rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div>
        <h2 id="copie-titre" className="text-lg font-semibold">
          Copie de {summary.studentName}
        </h2>
        <p className="text-slate-700 dark:text-slate-300">
          Tentative {attempt.attemptNumber}
          {attempt.submittedAt ? `, rendue ${formatDateTime(attempt.submittedAt)}` : ""}
          {attempt.isLate ? " · en retard" : ""}
          {attempt.score != null && attempt.status === "submitted" ? ` · ${formatNumber(attempt.score)} points déjà obtenus aux questions automatiques` : ""}
        </p>
        {attempt.status === "refused" && (
          <p className="mt-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
            Copie rendue après le délai avec la politique « ne pas noter » : vous pouvez tout de même la noter.
          </p>
        )}
      </div>
      <form
        noValidate
        data-grade-form=""
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <ol className="space-y-4">
          {assessment.questions.map((q, i) => (
            <AnswerItem
              key={q.id}
              q={q}
              index={i}
              result={byId.get(q.id)}
              review={toReview.includes(q)}
              points={points[q.id] ?? ""}
              comment={comments[q.id] ?? ""}
              error={errors[q.id]}
              onPoints={(v) => {
                setPoints((p) => ({ ...p, [q.id]: v }));
                setErrors((e) => (q.id in e ? Object.fromEntries(Object.entries(e).filter(([k]) => k !== q.id)) : e));
              }}
              onComment={(v) => setComments((c) => ({ ...c, [q.id]: v }))}
            />
          ))}
        </ol>
        <div className="flex flex-col gap-1">
          <label htmlFor="commentaire-general" className={labelClass}>
            Commentaire général (facultatif)
          </label>
          <textarea
            id="commentaire-general"
            rows={3}
            className={inputClass}
            value={feedback}
            aria-invalid={errors.__feedback ? true : undefined}
            aria-describedby={errors.__feedback ? "commentaire-general-erreur" : undefined}
            onChange={(e) => setFeedback(e.target.value)}
          />
          {errors.__feedback && (
            <p id="commentaire-general-erreur" className="text-sm text-red-700 dark:text-red-300">
              {errors.__feedback}
            </p>
          )}
        </div>
        <p className="text-sm text-slate-700 dark:text-slate-300">La note est définitive : l&apos;élève et ses parents sont prévenus dès qu&apos;elle est validée.</p>
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" disabled={busy}>
            {busy ? "Validation…" : "Valider la note"}
          </Button>
          <ErrorAlert message={general} />
        </div>
      </form>
    </section>
  );
}

function AnswerItem({
  q,
  index,
  result,
  review,
  points,
  comment,
  error,
  onPoints,
  onComment,
}: {
  q: ApiQuestion;
  index: number;
  result: Schemas["QuestionResult"] | undefined;
  review: boolean;
  points: string;
  comment: string;
  error?: string;
  onPoints: (v: string) => void;
  onComment: (v: string) => void;
}) {
  const answer = result?.answer;
  const text = answerText(q, answer);
  const grade = result?.grade;
  const id = `q-${q.id}`;
  return (
    <li className="space-y-2 rounded-md border border-slate-200 p-3 dark:border-slate-700" data-testid="reponse">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h3 className="font-semibold">
          Question {index + 1} <span className="font-normal text-slate-700 dark:text-slate-300">· {KIND_NAMES[q.type]}</span>
        </h3>
        {grade && grade.status !== "pending_review" && (
          <p className="text-sm">
            {GRADE_STATUS[grade.status] ?? grade.status} · {formatNumber(grade.points)} / {formatNumber(grade.maxPoints)}
          </p>
        )}
      </div>
      <div className="md text-slate-800 dark:text-slate-200">
        <Markdown source={q.prompt} headingOffset={4} />
      </div>
      <div>
        <p className="text-sm text-slate-700 dark:text-slate-300">Réponse de l&apos;élève :</p>
        {text === null ? (
          <p>
            <em>aucune</em>
          </p>
        ) : q.type === "code" ? (
          <div data-testid="code-eleve">
            <CodeBlock code={text} lang="python" />
          </div>
        ) : q.type === "free_text" ? (
          <p className="whitespace-pre-line rounded-md bg-slate-50 p-3 dark:bg-slate-800">{text}</p>
        ) : (
          <p className="font-medium">{text}</p>
        )}
        {!review && result?.correctAnswer !== undefined && result.correctAnswer !== null && q.type !== "code" && q.type !== "free_text" && (
          <p className="text-sm text-slate-700 dark:text-slate-300">Réponse attendue : {answerText(q, result.correctAnswer)}</p>
        )}
      </div>
      {review && (
        <div className="grid gap-3 sm:grid-cols-[10rem_1fr]">
          <div className="flex flex-col gap-1">
            <label htmlFor={`${id}-points`} className={labelClass}>
              Points (sur {formatNumber(q.points)})
            </label>
            <input
              id={`${id}-points`}
              inputMode="decimal"
              className={inputClass}
              value={points}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${id}-erreur` : undefined}
              onChange={(e) => onPoints(e.target.value)}
            />
            {error && (
              <p id={`${id}-erreur`} className="text-sm text-red-700 dark:text-red-300">
                {error}
              </p>
            )}
          </div>
          <div className="flex flex-col gap-1">
            <label htmlFor={`${id}-commentaire`} className={labelClass}>
              Commentaire sur cette question (facultatif)
            </label>
            <textarea id={`${id}-commentaire`} rows={2} className={inputClass} value={comment} onChange={(e) => onComment(e.target.value)} />
          </div>
        </div>
      )}
    </li>
  );
}
