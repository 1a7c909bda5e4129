"use client";
// Today's use of ARIA in one class (GET /api/aria/classes/{id}/usage) against its daily
// budget, per student, and the budgets a teacher (or an admin) adjusts: the class's
// (PUT …/classes/{id}/budget) and a student's (PUT /api/aria/students/{id}/budget).
// Shared by the teacher's ARIA page and the admin's dashboard.
import { useEffect, useState } from "react";
import { formatEuros, formatTokens, MAX_DAILY_TOKENS, oversight, parseTokens, type AriaClassUsage, type AriaStudentUsage } from "@/lib/aria/oversight";
import { Button, ErrorAlert, Field, Loading, ProgressBar, SMALL_SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

const BUDGET_ERROR = `Un nombre entier de jetons, de 0 à ${formatTokens(MAX_DAILY_TOKENS)}.`;

function fieldError(details: unknown, field: string): string | undefined {
  if (details && typeof details === "object" && field in details) {
    const v = (details as Record<string, unknown>)[field];
    if (typeof v === "string") return v;
  }
  return undefined;
}

export function ClassUsage({
  classId,
  className,
  onOpenStudent,
  compact = false,
}: {
  classId: number;
  className: string;
  /** Shows a "Conversations" button per student. */
  onOpenStudent?: (student: AriaStudentUsage) => void;
  /** The summary only (the admin's dashboard): no per-student table. */
  compact?: boolean;
}) {
  const [usage, setUsage] = useState<AriaClassUsage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let alive = true;
    void oversight.classUsage(classId).then(({ data, error: e }) => {
      if (!alive) return;
      if (data) {
        setUsage(data);
        setError(null);
      } else setError(e.error);
    });
    return () => {
      alive = false;
    };
  }, [classId, version]);
  const reload = () => setVersion((v) => v + 1);

  if (!usage || usage.classId !== classId) return error ? <ErrorAlert message={error} /> : <Loading />;
  const share = usage.dailyTokens > 0 ? (usage.usedTokens / usage.dailyTokens) * 100 : usage.usedTokens > 0 ? 100 : 0;
  return (
    <div className="space-y-4" data-testid="aria-class-usage">
      <ErrorAlert message={error} />
      <dl className="grid gap-3 sm:grid-cols-3">
        <div>
          <dt className="text-sm text-slate-600 dark:text-slate-300">Jetons utilisés aujourd&apos;hui</dt>
          <dd className="text-2xl font-bold" data-testid="aria-used">
            {formatTokens(usage.usedTokens)}
          </dd>
        </div>
        <div>
          <dt className="text-sm text-slate-600 dark:text-slate-300">Budget quotidien de la classe</dt>
          <dd className="text-2xl font-bold" data-testid="aria-class-budget">
            {formatTokens(usage.dailyTokens)}
          </dd>
        </div>
        <div>
          <dt className="text-sm text-slate-600 dark:text-slate-300">Coût aujourd&apos;hui</dt>
          <dd className="text-2xl font-bold" data-testid="aria-cost">
            {formatEuros(usage.costEuros)}
          </dd>
        </div>
      </dl>
      <ProgressBar value={share} label={`Part du budget quotidien de ${className} utilisée`} />
      <p className="text-sm text-slate-600 dark:text-slate-300">
        {usage.students.length} élève{usage.students.length > 1 ? "s" : ""} · le budget se renouvelle chaque jour à minuit. Les réponses tirées des cours seuls ne
        coûtent rien.
      </p>
      {!compact && (
        <>
          <ClassBudgetForm usage={usage} className={className} onSaved={reload} />
          <StudentTable usage={usage} className={className} onOpenStudent={onOpenStudent} onSaved={reload} />
        </>
      )}
    </div>
  );
}

function ClassBudgetForm({ usage, className, onSaved }: { usage: AriaClassUsage; className: string; onSaved: () => void }) {
  const [value, setValue] = useState(String(usage.dailyTokens));
  const [fieldErr, setFieldErr] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setNote(null);
    const tokens = parseTokens(value);
    if (tokens === null || tokens > MAX_DAILY_TOKENS) {
      setFieldErr(BUDGET_ERROR);
      return;
    }
    setFieldErr(undefined);
    setBusy(true);
    const { data, error: apiError } = await oversight.setClassBudget(usage.classId, tokens);
    setBusy(false);
    if (data) {
      setNote(`Budget quotidien de ${className} : ${formatTokens(data.dailyTokens)} jetons.`);
      onSaved();
    } else {
      setFieldErr(fieldError(apiError.details, "dailyTokens"));
      setError(apiError.error);
    }
  }
  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-3 sm:flex-row sm:items-end" noValidate aria-label={`Budget quotidien de ${className}`}>
      <div className="sm:w-80">
        <Field
          id={`budget-classe-${usage.classId}`}
          label="Budget quotidien de la classe (jetons)"
          hint="Partagé par les élèves de la classe."
          inputMode="numeric"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          error={fieldErr}
        />
      </div>
      <Button type="submit" disabled={busy} className="sm:mb-7">
        {busy ? "Enregistrement…" : "Enregistrer le budget"}
      </Button>
      <div className="sm:mb-7" aria-live="polite">
        <ErrorAlert message={error} />
        <SuccessNote message={note} />
      </div>
    </form>
  );
}

function StudentTable({
  usage,
  className,
  onOpenStudent,
  onSaved,
}: {
  usage: AriaClassUsage;
  className: string;
  onOpenStudent?: (student: AriaStudentUsage) => void;
  onSaved: () => void;
}) {
  if (usage.students.length === 0) return <p className="text-slate-700 dark:text-slate-300">Aucun élève dans cette classe pour l&apos;instant.</p>;
  return (
    <div role="region" aria-labelledby={`aria-eleves-${usage.classId}`} tabIndex={0} className="relative overflow-x-auto">
      <table className="w-full min-w-[40rem] text-left text-sm">
        <caption id={`aria-eleves-${usage.classId}`} className="mb-2 text-left font-semibold">
          ARIA aujourd&apos;hui, élève par élève ({className})
        </caption>
        <thead>
          <tr className="border-b border-slate-200 dark:border-slate-700">
            <th scope="col" className="py-2 pr-3">
              Élève
            </th>
            <th scope="col" className="py-2 pr-3">
              Jetons utilisés / budget
            </th>
            <th scope="col" className="py-2 pr-3">
              Questions
            </th>
            <th scope="col" className="py-2 pr-3">
              Coût
            </th>
            <th scope="col" className="py-2">
              Budget quotidien de l&apos;élève
            </th>
          </tr>
        </thead>
        <tbody>
          {usage.students.map((s) => (
            <StudentRow key={s.studentId} student={s} onOpen={onOpenStudent} onSaved={onSaved} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StudentRow({ student, onOpen, onSaved }: { student: AriaStudentUsage; onOpen?: (s: AriaStudentUsage) => void; onSaved: () => void }) {
  const name = `${student.firstName} ${student.lastName}`;
  const [value, setValue] = useState(String(student.dailyTokens));
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = `budget-eleve-${student.studentId}`;
  async function save(e: React.FormEvent) {
    e.preventDefault();
    setNote(null);
    const tokens = parseTokens(value);
    if (tokens === null || tokens > MAX_DAILY_TOKENS) {
      setError(BUDGET_ERROR);
      return;
    }
    setBusy(true);
    const { data, error: apiError } = await oversight.setStudentBudget(student.studentId, tokens);
    setBusy(false);
    if (data) {
      setError(null);
      setNote("Enregistré.");
      onSaved();
    } else setError(fieldError(apiError.details, "dailyTokens") ?? apiError.error);
  }
  return (
    <tr className="border-b border-slate-100 align-top dark:border-slate-800">
      <th scope="row" className="py-2 pr-3 font-medium">
        {name}
        {onOpen && (
          <div>
            <button type="button" className={`${SMALL_SECONDARY_BUTTON} mt-1`} onClick={() => onOpen(student)}>
              Conversations<span className="sr-only"> de {name}</span>
            </button>
          </div>
        )}
      </th>
      <td className="py-2 pr-3">
        {formatTokens(student.usedTokens)} / {formatTokens(student.dailyTokens)}
      </td>
      <td className="py-2 pr-3">{student.requests}</td>
      <td className="py-2 pr-3">{formatEuros(student.costEuros)}</td>
      <td className="py-2">
        <form onSubmit={save} className="flex flex-wrap items-center gap-2" noValidate>
          <label htmlFor={inputId} className="sr-only">
            Budget quotidien de {name} (jetons)
          </label>
          <input
            id={inputId}
            inputMode="numeric"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${inputId}-erreur` : undefined}
            className="w-32 rounded-md border border-slate-400 bg-white px-2 py-1 text-slate-900 aria-[invalid=true]:border-red-700 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
          />
          <button type="submit" className={SMALL_SECONDARY_BUTTON} disabled={busy}>
            Enregistrer<span className="sr-only"> le budget de {name}</span>
          </button>
          <span aria-live="polite" className="text-sm text-emerald-800 dark:text-emerald-200">
            {note}
          </span>
          {error && (
            <p id={`${inputId}-erreur`} className="w-full text-sm text-red-700 dark:text-red-300">
              {error}
            </p>
          )}
        </form>
      </td>
    </tr>
  );
}
