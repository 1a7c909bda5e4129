"use client";

// One assessment for its student: the intro (what, when, how long, ARIA's help), the
// attempt (every question type, countdown, autosave) and the results.
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { ASSESSMENT_TYPES, formatDateTime, formatNumber, gradeOn20 } from "@/lib/format";
import { HELP_MODES, attemptsLeft, clockOffset, formatDuration, plural } from "@/lib/assessments";
import { Markdown } from "@/lib/markdown";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { Button, ErrorAlert, Loading } from "@/components/ui";
import { AttemptForm } from "./AttemptForm";
import { AttemptResult } from "./AttemptResult";

const STUDENT = ["student"];

type StudentAssessment = Schemas["StudentAssessment"];
type Started = Schemas["AttemptStarted"];
type Attempt = Schemas["AttemptView"];

export function AssessmentPage({ id }: { id: string }) {
  const { allowed } = useRequireRole(STUDENT);
  const { revision } = useNotifications();
  const assessmentId = Number(id);
  const valid = Number.isInteger(assessmentId) && assessmentId > 0;
  const [taking, setTaking] = useState<{ started: Started; offset: number } | null>(null);
  const [justSubmitted, setJustSubmitted] = useState<Attempt | null>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const { data, error, reload } = useLoader(allowed && valid, () => api.GET("/api/assessments/{id}", { params: { path: { id: assessmentId } } }));
  const assessment: StudentAssessment | null = data?.assessment.view === "student" ? data.assessment : null;
  const attempts = assessment?.attempts ?? [];
  // (Not the one just handed in, while the view reloads.)
  const inProgress = attempts.find((a) => a.status === "in_progress" && a.id !== justSubmitted?.id);
  const latestDone = [...attempts].reverse().find((a) => a.status !== "in_progress");

  // The result of the latest attempt handed in (reloaded when a notification arrives:
  // the teacher graded it).
  const { data: latest } = useLoader(
    allowed && !!latestDone && !taking,
    () => api.GET("/api/attempts/{id}", { params: { path: { id: latestDone!.id } } }),
    `${latestDone?.id}-${revision}`,
  );

  const start = useCallback(async () => {
    setStarting(true);
    setStartError(null);
    const { data: started, error: err, response } = await api.POST("/api/assessments/{id}/attempts", { params: { path: { id: assessmentId } } });
    setStarting(false);
    if (started) {
      setJustSubmitted(null);
      setTaking({ started, offset: clockOffset(response.headers.get("date"), Date.now()) });
    } else {
      setStartError(errorMessage(err));
      reload();
    }
  }, [assessmentId, reload]);

  // A reload in the middle of an attempt goes straight back to it (the API returns the
  // attempt in progress, with the answers saved so far).
  const resumed = useRef(false);
  useEffect(() => {
    if (inProgress && !taking && !resumed.current) {
      resumed.current = true;
      void start();
    }
  }, [inProgress, taking, start]);

  const onSubmitted = useCallback(
    (attempt: Attempt) => {
      setTaking(null);
      setJustSubmitted(attempt);
      resumed.current = true;
      reload();
      requestAnimationFrame(() => document.getElementById("resultat-titre")?.focus());
    },
    [reload],
  );

  if (!allowed) return <Loading />;
  if (!valid) return <ErrorAlert message="Évaluation introuvable." />;

  const back = (
    <p>
      <Link href="/eleve/evaluations" className="text-accent-800 underline underline-offset-2 dark:text-accent-100">
        <span aria-hidden="true">← </span>Toutes les évaluations
      </Link>
    </p>
  );

  if (taking) {
    return (
      <div className="space-y-4">
        {back}
        <AttemptForm key={taking.started.attempt.id} started={taking.started} offset={taking.offset} onSubmitted={onSubmitted} />
      </div>
    );
  }

  if (!assessment) {
    return (
      <div className="space-y-4">
        {back}
        <ErrorAlert message={error} />
        {!error && <Loading />}
      </div>
    );
  }

  // The attempt as last loaded wins over the submission's answer once it is the same one
  // (reloaded on a live notification: the teacher graded it meanwhile).
  const reloaded = latest?.attempt ?? null;
  const result = reloaded && (!justSubmitted || reloaded.id === justSubmitted.id) ? reloaded : (justSubmitted ?? reloaded);
  return (
    <div className="space-y-6">
      {back}
      {/* The result first: it is what a student comes back for (on a phone, no scrolling). */}
      <AssessmentIntro assessment={assessment} headingRef={headingRef}>
        {result && <AttemptResult attempt={result} assessment={assessment} />}
      </AssessmentIntro>
      <ErrorAlert message={startError} />
      {inProgress ? (
        <Loading label="Reprise de votre tentative…" />
      ) : (
        <StartPanel assessment={assessment} starting={starting} onStart={start} />
      )}
      {attempts.filter((a) => a.status !== "in_progress").length > 1 && <PastAttempts assessment={assessment} />}
    </div>
  );
}

function AssessmentIntro({
  assessment: a,
  headingRef,
  children,
}: {
  assessment: StudentAssessment;
  headingRef: React.Ref<HTMLHeadingElement>;
  children?: React.ReactNode;
}) {
  const help = HELP_MODES[a.helpMode] ?? HELP_MODES.hints!;
  const used = a.attempts.length;
  return (
    <section aria-labelledby="evaluation-titre" className="space-y-4">
      <div>
        <p className="mb-1">
          <span className="rounded-full bg-accent-50 px-2 py-0.5 text-sm font-medium text-accent-800 dark:bg-slate-800 dark:text-accent-100">
            {ASSESSMENT_TYPES[a.type] ?? a.type}
          </span>
        </p>
        <h1 id="evaluation-titre" ref={headingRef} tabIndex={-1} className="text-2xl font-bold">
          {a.title}
        </h1>
      </div>
      {a.description && (
        <div className="md text-slate-800 dark:text-slate-200">
          <Markdown source={a.description} />
        </div>
      )}
      {children}
      <dl className="grid gap-3 rounded-xl border border-slate-200 bg-white p-5 shadow-sm sm:grid-cols-2 dark:border-slate-800 dark:bg-slate-900">
        <div>
          <dt className="text-sm text-slate-700 dark:text-slate-300">Ouverture</dt>
          <dd className="font-medium">{a.opensAt ? formatDateTime(a.opensAt) : "—"}</dd>
        </div>
        <div>
          <dt className="text-sm text-slate-700 dark:text-slate-300">Fermeture</dt>
          <dd className="font-medium">{a.closesAt ? formatDateTime(a.closesAt) : "Sans date limite"}</dd>
        </div>
        <div>
          <dt className="text-sm text-slate-700 dark:text-slate-300">Durée</dt>
          <dd className="font-medium">
            {a.timeLimitMinutes ? `${formatDuration(a.timeLimitMinutes)} à partir du moment où vous commencez` : "Sans limite de temps"}
          </dd>
        </div>
        <div>
          <dt className="text-sm text-slate-700 dark:text-slate-300">Tentatives</dt>
          <dd className="font-medium">
            {plural(used, "utilisée", "utilisées")} sur {a.maxAttempts}
          </dd>
        </div>
        <div>
          <dt className="text-sm text-slate-700 dark:text-slate-300">Barème</dt>
          <dd className="font-medium">
            {formatNumber(a.maxScore)} points, note ramenée sur 20
            {a.questionsVisible && a.questions.length > 0 ? ` · ${plural(a.questions.length, "question", "questions")}` : ""}
          </dd>
        </div>
        {a.timeLimitMinutes || a.closesAt ? (
          <div>
            <dt className="text-sm text-slate-700 dark:text-slate-300">En cas de retard</dt>
            <dd className="font-medium">
              {a.latePolicy === "refuse" ? "Une copie rendue après le délai n'est pas notée." : "Une copie rendue après le délai est notée et signalée en retard."}
            </dd>
          </div>
        ) : null}
      </dl>
      <div className="rounded-xl border border-accent-100 bg-accent-50 p-4 text-slate-900 dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100" data-testid="aide-aria">
        <p className="font-semibold">{help.title}</p>
        <p>{help.text}</p>
      </div>
    </section>
  );
}

function StartPanel({ assessment: a, starting, onStart }: { assessment: StudentAssessment; starting: boolean; onStart: () => void }) {
  const left = attemptsLeft({ attemptsUsed: a.attempts.length, maxAttempts: a.maxAttempts });
  let reason: string | null = null;
  if (a.availability === "upcoming") reason = `Cette évaluation ouvre ${formatDateTime(a.opensAt)}.`;
  else if (a.availability === "closed") reason = "Cette évaluation est fermée.";
  else if (left === 0) reason = a.maxAttempts > 1 ? "Vous avez utilisé toutes vos tentatives." : "Vous avez déjà rendu cette évaluation.";
  if (reason) {
    return <p className="rounded-xl border border-slate-200 bg-white p-4 text-slate-800 dark:border-slate-800 dark:bg-slate-900 dark:text-slate-200">{reason}</p>;
  }
  const again = a.attempts.length > 0;
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button type="button" onClick={onStart} disabled={starting}>
        {starting ? "Ouverture…" : again ? "Nouvelle tentative" : "Commencer"}
      </Button>
      <p className="text-slate-700 dark:text-slate-300">
        {a.timeLimitMinutes ? `Le compte à rebours de ${formatDuration(a.timeLimitMinutes)} démarre dès que vous commencez. ` : ""}
        {plural(left, "tentative restante", "tentatives restantes")}.
      </p>
    </div>
  );
}

function PastAttempts({ assessment: a }: { assessment: StudentAssessment }) {
  return (
    <section aria-labelledby="tentatives-titre" className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <h2 id="tentatives-titre" className="mb-3 text-lg font-semibold">
        Vos tentatives
      </h2>
      <ul className="space-y-2">
        {a.attempts
          .filter((t) => t.status !== "in_progress")
          .map((t) => (
            <li key={t.id} className="flex flex-wrap justify-between gap-2">
              <span>
                Tentative {t.attemptNumber}
                {t.submittedAt ? `, rendue ${formatDateTime(t.submittedAt)}` : ""}
              </span>
              <span className="font-medium">
                {t.status === "graded"
                  ? gradeOn20(t.score, t.maxScore)
                  : t.status === "refused"
                    ? "Non notée (retard)"
                    : "En attente de correction"}
              </span>
            </li>
          ))}
      </ul>
    </section>
  );
}
