"use client";

// An attempt in progress: the questions, the countdown from the server's deadline, the
// autosave (server draft + local copy), the confirmation before handing in.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorMessage, NETWORK_ERROR, type Schemas } from "@/lib/api/client";
import {
  Autosaver,
  HELP_MODES,
  announcementBetween,
  clearLocal,
  compactAnswers,
  countAnswered,
  formatCountdown,
  mergeDraft,
  plural,
  readLocal,
  spokenDuration,
  writeLocal,
  type Answers,
  type SaveOutcome,
  type SaveState,
} from "@/lib/assessments";
import { ASSESSMENT_TYPES, formatDateTime } from "@/lib/format";
import { ConfirmDialog } from "@/components/confirm";
import { useReportAssessment } from "@/components/presence";
import { Button, ErrorAlert } from "@/components/ui";
import { QuestionField } from "./QuestionField";

type Started = Schemas["AttemptStarted"];
type Attempt = Schemas["AttemptView"];

const timeOfDay = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });

// The API documents `answers` as a bare object (`Record<string, never>` once generated):
// each value's shape depends on its question's type (`Submission` in openapi.json).
function wire(answers: Answers): Record<string, never> {
  return compactAnswers(answers) as Record<string, never>;
}

function session(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.sessionStorage;
  } catch {
    return undefined;
  }
}

export function AttemptForm({ started, offset, onSubmitted }: { started: Started; offset: number; onSubmitted: (attempt: Attempt) => void }) {
  const { attempt, assessment } = started;
  const questions = assessment.questions;
  // The teacher's live class view shows the student "en évaluation" meanwhile.
  useReportAssessment(assessment.id);
  const [initial] = useState(() => mergeDraft(attempt.draftAnswers as Answers | undefined, readLocal(session(), attempt.id)));
  const [answers, setAnswers] = useState<Answers>(initial.answers);
  const answersRef = useRef<Answers>(initial.answers);
  const [saveState, setSaveState] = useState<SaveState>({ kind: "idle" });
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [expired, setExpired] = useState(false);
  const saverRef = useRef<Autosaver<Answers> | null>(null);
  const [confirmOpen, setConfirmOpen] = useState(false);
  const done = useRef(false);

  useEffect(() => {
    const saver = new Autosaver<Answers>({
      save: async (value): Promise<SaveOutcome> => {
        const { data, error, response } = await api.PUT("/api/attempts/{id}/answers", {
          params: { path: { id: attempt.id } },
          body: { answers: wire(value) },
        });
        if (data) return { ok: true, savedAt: data.savedAt };
        // Handed in, time over, not theirs, or refused as invalid: retrying cannot help.
        const final = [403, 404, 409, 422].includes(response.status);
        return { ok: false, message: errorMessage(error), final };
      },
      onState: setSaveState,
      onSaved: (value) => {
        if (JSON.stringify(value) === JSON.stringify(answersRef.current)) {
          writeLocal(session(), attempt.id, { answers: value, updatedAt: Date.now(), synced: true });
        }
      },
    });
    saverRef.current = saver;
    if (initial.needsSave) saver.change(initial.answers);
    const flush = () => void saver.flush();
    const onVisibility = () => {
      if (document.visibilityState === "hidden") flush();
    };
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("pagehide", flush);
    window.addEventListener("online", flush);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("pagehide", flush);
      window.removeEventListener("online", flush);
      if (!done.current) flush();
      saver.stop();
    };
  }, [attempt.id, initial]);

  const setAnswer = useCallback(
    (questionId: string, value: unknown) => {
      const next = { ...answersRef.current, [questionId]: value };
      answersRef.current = next;
      setAnswers(next);
      writeLocal(session(), attempt.id, { answers: next, updatedAt: Date.now(), synced: false });
      saverRef.current?.change(next);
    },
    [attempt.id],
  );
  const flush = useCallback(() => void saverRef.current?.flush(), []);

  const submit = useCallback(async () => {
    if (done.current) return;
    setSubmitting(true);
    setSubmitError(null);
    try {
      const { data, error, response } = await api.POST("/api/attempts/{id}/submit", {
        params: { path: { id: attempt.id } },
        body: { answers: wire(answersRef.current) },
      });
      if (data) {
        done.current = true;
        saverRef.current?.stop();
        clearLocal(session(), attempt.id);
        onSubmitted(data.attempt);
        return;
      }
      if (response.status === 409) {
        // Late (kept for the teacher, not graded) or already handed in: show what the API holds.
        done.current = true;
        saverRef.current?.stop();
        clearLocal(session(), attempt.id);
        const { data: now } = await api.GET("/api/attempts/{id}", { params: { path: { id: attempt.id } } });
        if (now) {
          onSubmitted(now.attempt);
          return;
        }
      }
      setSubmitError(errorMessage(error));
    } catch {
      setSubmitError(NETWORK_ERROR);
    }
    setSubmitting(false);
  }, [attempt.id, onSubmitted]);

  const onExpire = useCallback(() => {
    setExpired(true);
    setConfirmOpen(false);
    void submit();
  }, [submit]);

  const ids = questions.map((q) => q.id);
  const answered = countAnswered(answers, ids);
  const help = HELP_MODES[assessment.helpMode] ?? HELP_MODES.hints!;
  const deadline = attempt.deadlineAt ? Date.parse(attempt.deadlineAt) : null;

  return (
    <div className="space-y-5">
      <div>
        <p className="mb-1 text-sm text-slate-700 dark:text-slate-300">
          {ASSESSMENT_TYPES[assessment.type] ?? assessment.type} · tentative {attempt.attemptNumber} sur {assessment.maxAttempts}
        </p>
        <h1 className="text-2xl font-bold" id="evaluation-titre">
          {assessment.title}
        </h1>
        <p className="mt-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100" data-testid="mode-examen">
          <span className="font-semibold">Évaluation en cours.</span> {help.title}.
        </p>
      </div>

      <div
        className="sticky top-0 z-10 flex flex-wrap items-center justify-between gap-x-4 gap-y-1 rounded-xl border border-slate-200 bg-white/95 px-4 py-2 shadow-sm backdrop-blur dark:border-slate-800 dark:bg-slate-900/95"
        data-testid="barre-tentative"
      >
        {deadline !== null ? <Countdown deadline={deadline} offset={offset} onExpire={onExpire} /> : <p className="text-slate-700 dark:text-slate-300">Sans limite de temps</p>}
        <p className="text-slate-700 dark:text-slate-300" data-testid="nombre-reponses">
          {answered}/{questions.length} réponses
        </p>
        <SaveStatus state={saveState} />
      </div>

      {expired && (
        <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
          Temps écoulé : votre copie est rendue automatiquement avec les réponses saisies.
        </p>
      )}

      <form
        onSubmit={(e) => {
          e.preventDefault();
          setConfirmOpen(true);
        }}
        className="space-y-4"
        aria-labelledby="evaluation-titre"
      >
        {questions.map((q, i) => (
          <QuestionField key={q.id} question={q} index={i} answer={answers[q.id]} onAnswer={(v) => setAnswer(q.id, v)} onBlur={flush} attemptId={attempt.id} helpMode={assessment.helpMode} />
        ))}
        <ErrorAlert message={submitError} />
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" disabled={submitting}>
            {submitting ? "Envoi…" : "Rendre ma copie"}
          </Button>
          <p className="text-slate-700 dark:text-slate-300">Vos réponses sont enregistrées au fur et à mesure : vous pouvez recharger la page sans rien perdre.</p>
        </div>
      </form>

      <ConfirmDialog
        open={confirmOpen}
        onOpenChange={setConfirmOpen}
        title="Rendre votre copie ?"
        description={
          <div className="space-y-2">
            <p>
              Vous avez répondu à {plural(answered, "question", "questions")} sur {questions.length}.
              {answered < questions.length ? " Les questions sans réponse compteront 0 point." : ""}
            </p>
            <p>Une fois rendue, votre copie ne pourra plus être modifiée.</p>
          </div>
        }
        cancelLabel="Continuer l'évaluation"
        confirmLabel="Confirmer et rendre"
        onConfirm={() => void submit()}
      />
    </div>
  );
}

function SaveStatus({ state }: { state: SaveState }) {
  switch (state.kind) {
    case "idle":
      return (
        <p className="text-slate-700 dark:text-slate-300" data-testid="etat-enregistrement">
          Enregistrement automatique
        </p>
      );
    case "pending":
    case "saving":
      return (
        <p className="text-slate-700 dark:text-slate-300" data-testid="etat-enregistrement">
          Enregistrement…
        </p>
      );
    case "saved":
      return (
        <p className="text-emerald-800 dark:text-emerald-200" data-testid="etat-enregistrement">
          <span aria-hidden="true">✓ </span>Enregistré à {timeOfDay.format(new Date(state.at)).replace(":", " h ")}
        </p>
      );
    case "error":
      return (
        <p role="alert" className="w-full text-red-800 sm:w-auto dark:text-red-200" data-testid="etat-enregistrement">
          {state.final
            ? state.message
            : "Enregistrement impossible pour l'instant : vos réponses sont gardées sur cet appareil et seront renvoyées automatiquement."}
        </p>
      );
  }
}

/** Beyond this, the deadline is shown as a date rather than a countdown. */
const FAR = 24 * 3600_000;

function Countdown({ deadline, offset, onExpire }: { deadline: number; offset: number; onExpire: () => void }) {
  const remaining = useCallback(() => deadline - (Date.now() + offset), [deadline, offset]);
  const [left, setLeft] = useState(remaining);
  const [said, setSaid] = useState("");
  const expire = useRef(onExpire);
  useEffect(() => {
    expire.current = onExpire;
  }, [onExpire]);

  useEffect(() => {
    let previous = remaining();
    let fired = false;
    let intro: ReturnType<typeof setTimeout> | undefined;
    if (previous <= 0) {
      fired = true;
      expire.current();
    } else {
      // Once the live region is in the page (a region's first content is not read).
      const start = previous;
      if (start <= FAR) intro = setTimeout(() => setSaid(`Temps restant : ${spokenDuration(start)}.`), 1000);
    }
    const timer = setInterval(() => {
      const now = remaining();
      const message = announcementBetween(previous, now);
      previous = now;
      if (message) setSaid(message);
      setLeft(now);
      if (now <= 0 && !fired) {
        fired = true;
        clearInterval(timer);
        expire.current();
      }
    }, 500);
    return () => {
      clearTimeout(intro);
      clearInterval(timer);
    };
  }, [remaining]);

  const urgent = left <= 5 * 60_000;
  if (left > FAR) {
    // Days ahead (an untimed assessment's closing): a date says more than 150:00:00.
    return (
      <p className="text-slate-700 dark:text-slate-300" data-testid="date-limite">
        À rendre avant {formatDateTime(new Date(deadline).toISOString())}
      </p>
    );
  }
  return (
    <div className="flex items-center gap-2">
      <span className="text-slate-700 dark:text-slate-300" id="temps-restant-libelle">
        Temps restant
      </span>
      <span
        role="timer"
        aria-labelledby="temps-restant-libelle"
        data-testid="compte-a-rebours"
        data-deadline={new Date(deadline).toISOString()}
        className={`rounded-md px-2 py-0.5 font-mono text-lg font-semibold tabular-nums ${
          urgent ? "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100" : "bg-slate-100 text-slate-900 dark:bg-slate-800 dark:text-slate-100"
        }`}
      >
        {formatCountdown(left)}
      </span>
      <span className="sr-only" aria-live="polite" aria-atomic="true">
        {said}
      </span>
    </div>
  );
}
