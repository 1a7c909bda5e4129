"use client";

// The builder: the assessment's settings and its questions. A new assessment is created
// with POST; one nobody has started is replaced with PUT; once a student has started,
// only what the API lets change at any time (attempts, late policy, ARIA) goes by PATCH.
import { useEffect, useRef, useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import {
  ASSESSMENT_KINDS,
  HELP_MODE_CHOICES,
  KIND_NAMES,
  KINDS,
  LATE_POLICY_CHOICES,
  assessmentBody,
  effectiveHelpMode,
  emptySettings,
  fromApi,
  move,
  newQuestion,
  parseWhole,
  questionErrorTarget,
  settingsFromApi,
  type DraftQuestion,
  type DraftSettings,
  type Kind,
} from "@/lib/assessmentBuilder";
import { Button, ErrorAlert, SuccessNote } from "@/components/ui";
import { QuestionEditor } from "./QuestionEditor";
import { inputClass, labelClass, secondary } from "./styles";

type Teacher = Schemas["TeacherAssessment"];

export function Builder({ assessment, locked, onSaved }: { assessment: Teacher | null; locked: boolean; onSaved: (a: Teacher, created: boolean) => void }) {
  const [settings, setSettings] = useState<DraftSettings>(() => (assessment ? settingsFromApi(assessment) : emptySettings()));
  const [questions, setQuestions] = useState<DraftQuestion[]>(() => (assessment ? assessment.questions.map(fromApi) : [newQuestion("single_choice", [])]));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [addKind, setAddKind] = useState<Kind>("single_choice");
  const [moved, setMoved] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const { data: courses } = useLoader(true, () => api.GET("/api/courses", { params: { query: { limit: 100 } } }));

  // A message goes once its field (or its question) is changed.
  const clear = (match: (field: string) => boolean) =>
    setErrors((e) => (Object.keys(e).some(match) ? Object.fromEntries(Object.entries(e).filter(([f]) => !match(f))) : e));
  const set = (patch: Partial<DraftSettings>) => {
    setSettings((s) => ({ ...s, ...patch }));
    setSaved(null);
    clear((f) => f in patch); // the settings' names are the API's
  };
  const setQuestion = (i: number, q: DraftQuestion) => {
    setQuestions((qs) => qs.map((x, j) => (j === i ? q : x)));
    setSaved(null);
    clear((f) => f.startsWith(`question:${q.key}:`));
  };
  // After a refusal, the first message (or invalid field) gets the focus once rendered:
  // an update made after an await is not committed before the next frame.
  const [focusTick, setFocusTick] = useState(0);
  useEffect(() => {
    if (focusTick) formRef.current?.querySelector<HTMLElement>("[data-error], [aria-invalid='true']:not(fieldset)")?.focus();
  }, [focusTick]);
  const focusFirstError = () => setFocusTick((t) => t + 1);

  const save = async () => {
    setGeneral(null);
    setSaved(null);
    const built = assessmentBody(settings, questions);
    if ("errors" in built) {
      setErrors(built.errors);
      focusFirstError();
      return;
    }
    setErrors({});
    setSaving(true);
    const { body } = built;
    const result = locked
      ? await api.PATCH("/api/assessments/{id}", {
          params: { path: { id: assessment!.id } },
          body: { maxAttempts: body.maxAttempts, latePolicy: body.latePolicy, helpMode: body.helpMode },
        })
      : assessment
        ? await api.PUT("/api/assessments/{id}", { params: { path: { id: assessment.id } }, body })
        : await api.POST("/api/assessments", { body });
    setSaving(false);
    if (result.data) {
      setSaved(assessment ? "Modifications enregistrées." : "Évaluation créée.");
      onSaved(result.data.assessment, !assessment);
      return;
    }
    const fields = fieldErrors(result.error);
    const next: Record<string, string> = {};
    for (const [field, message] of Object.entries(fields)) {
      if (field === "questions") {
        const target = questionErrorTarget(message, questions);
        next[target.key ? `question:${target.key}:${target.field ?? ""}` : "questions"] = target.message;
      } else next[field] = message;
    }
    setErrors(next);
    if (Object.keys(next).length === 0) setGeneral(errorMessage(result.error));
    focusFirstError();
  };

  const add = () => {
    const q = newQuestion(addKind, questions);
    setQuestions((qs) => [...qs, q]);
    setSaved(null);
    requestAnimationFrame(() => document.getElementById(`${q.key}-prompt`)?.focus());
  };
  const shift = (i: number, by: number) => {
    const q = questions[i]!;
    const next = move(questions, i, by);
    setQuestions(next);
    const to = i + by;
    setMoved(`Question déplacée en position ${to + 1} sur ${next.length}.`);
    const edge = by < 0 ? to === 0 : to === next.length - 1;
    requestAnimationFrame(() => document.getElementById(`${q.key}-${edge ? (by < 0 ? "down" : "up") : by < 0 ? "up" : "down"}`)?.focus());
  };
  const remove = (i: number) => {
    const next = questions.filter((_, j) => j !== i);
    setQuestions(next);
    setMoved(`Question ${i + 1} supprimée.`);
    const focus = next[Math.min(i, next.length - 1)];
    requestAnimationFrame(() => document.getElementById(focus ? `${focus.key}-prompt` : "ajout-type")?.focus());
  };

  const errorOf = (field: string) => errors[field];
  const questionErrors = (key: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [field, message] of Object.entries(errors)) {
      if (field.startsWith(`question:${key}:`)) out[field.slice(`question:${key}:`.length)] = message;
    }
    return out;
  };
  const total = questions.reduce((sum, q) => sum + (Number(q.points.replace(",", ".")) || 0), 0);
  const effective = effectiveHelpMode(settings.helpMode, settings.type);
  const minutes = parseWhole(settings.timeLimitMinutes);

  return (
    <form
      ref={formRef}
      noValidate
      className="space-y-6"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {locked && (
        <p role="note" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          Des élèves ont commencé cette évaluation : ses questions, son titre et sa durée ne peuvent plus changer (les notes doivent garder leur sens).
          Le nombre de tentatives, la politique de retard et l&apos;aide d&apos;ARIA restent modifiables.
        </p>
      )}
      <section aria-labelledby="parametres-titre" className="space-y-4 rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <h2 id="parametres-titre" className="text-lg font-semibold">
          Paramètres
        </h2>
        <div className="grid gap-4 md:grid-cols-[1fr_12rem]">
          <TextField id="titre" label="Titre" value={settings.title} error={errorOf("title")} disabled={locked} onChange={(title) => set({ title })} />
          <div className="flex flex-col gap-1">
            <label htmlFor="type" className={labelClass}>
              Type
            </label>
            <select
              id="type"
              className={inputClass}
              value={settings.type}
              disabled={locked}
              aria-invalid={errorOf("type") ? true : undefined}
              aria-describedby={errorOf("type") ? "type-erreur" : undefined}
              onChange={(e) => set({ type: ASSESSMENT_KINDS.find((k) => k.value === e.target.value)?.value ?? settings.type })}
            >
              {ASSESSMENT_KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </select>
            <ErrorText id="type-erreur" message={errorOf("type")} />
          </div>
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor="description" className={labelClass}>
            Consignes (facultatif)
          </label>
          <textarea
            id="description"
            rows={3}
            className={inputClass}
            value={settings.description}
            disabled={locked}
            aria-invalid={errorOf("description") ? true : undefined}
            aria-describedby={`description-aide${errorOf("description") ? " description-erreur" : ""}`}
            onChange={(e) => set({ description: e.target.value })}
          />
          <p id="description-aide" className="text-sm text-slate-600 dark:text-slate-300">
            Montrées aux élèves avant qu&apos;ils commencent (Markdown).
          </p>
          <ErrorText id="description-erreur" message={errorOf("description")} />
        </div>
        <div className="grid gap-4 md:grid-cols-3">
          <div className="flex flex-col gap-1">
            <label htmlFor="cours" className={labelClass}>
              Cours associé (facultatif)
            </label>
            <select
              id="cours"
              className={inputClass}
              value={settings.courseId}
              disabled={locked}
              aria-invalid={errorOf("courseId") ? true : undefined}
              aria-describedby={errorOf("courseId") ? "cours-erreur" : undefined}
              onChange={(e) => set({ courseId: e.target.value })}
            >
              <option value="">Aucun</option>
              {(courses?.courses ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
            <ErrorText id="cours-erreur" message={errorOf("courseId")} />
          </div>
          <TextField
            id="duree"
            label="Durée en minutes"
            hint="Vide : sans limite de temps. Le compte à rebours part quand l'élève commence."
            inputMode="numeric"
            value={settings.timeLimitMinutes}
            error={errorOf("timeLimitMinutes")}
            disabled={locked}
            onChange={(timeLimitMinutes) => set({ timeLimitMinutes })}
          />
          <TextField
            id="tentatives"
            label="Tentatives par élève"
            inputMode="numeric"
            value={settings.maxAttempts}
            error={errorOf("maxAttempts")}
            onChange={(maxAttempts) => set({ maxAttempts })}
          />
        </div>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Les dates d&apos;ouverture et de fermeture se choisissent pour chaque classe, dans « Publication ».
          {typeof minutes === "number" && minutes > 0 ? " L'échéance d'une tentative est la fin de la durée ou la fermeture, la première des deux." : ""}
        </p>
        <RadioGroup
          name="retard"
          legend="En cas de retard"
          choices={LATE_POLICY_CHOICES}
          value={settings.latePolicy}
          error={errorOf("latePolicy")}
          onChange={(latePolicy) => set({ latePolicy })}
        />
        <RadioGroup
          name="aide"
          legend="Aide d'ARIA pendant une tentative"
          choices={HELP_MODE_CHOICES}
          value={settings.helpMode}
          error={errorOf("helpMode")}
          onChange={(helpMode) => set({ helpMode })}
        />
        <p className="text-sm text-slate-700 dark:text-slate-300" data-testid="aide-effective">
          Pour ce{settings.type === "exam" ? "t" : ""} {ASSESSMENT_KINDS.find((k) => k.value === settings.type)?.label.toLowerCase() ?? settings.type} :{" "}
          {effective === "none" ? "ARIA n'aidera pas." : effective === "explain" ? "ARIA expliquera normalement." : "ARIA donnera des indices seulement."}
        </p>
      </section>

      <section aria-labelledby="questions-titre" className="space-y-4">
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h2 id="questions-titre" className="text-lg font-semibold">
            Questions
          </h2>
          <p className="text-slate-700 dark:text-slate-300" data-testid="total-points">
            {questions.length} question{questions.length > 1 ? "s" : ""} · {String(Math.round(total * 100) / 100).replace(".", ",")} points, note ramenée sur 20
          </p>
        </div>
        {errorOf("questions") && (
          <p role="alert" tabIndex={-1} data-error="" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
            {errorOf("questions")}
          </p>
        )}
        <p className="sr-only" role="status" aria-live="polite">
          {moved}
        </p>
        {questions.map((q, i) => (
          <QuestionEditor
            key={q.key}
            q={q}
            index={i}
            count={questions.length}
            errors={questionErrors(q.key)}
            disabled={locked}
            onChange={(next) => setQuestion(i, next)}
            onMove={(by) => shift(i, by)}
            onRemove={() => remove(i)}
          />
        ))}
        {!locked && (
          <div className="flex flex-wrap items-end gap-2 rounded-xl border border-dashed border-slate-400 p-4 dark:border-slate-600">
            <div className="flex flex-col gap-1">
              <label htmlFor="ajout-type" className={labelClass}>
                Type de la nouvelle question
              </label>
              <select id="ajout-type" className={inputClass} value={addKind} onChange={(e) => setAddKind(e.target.value as Kind)}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {KIND_NAMES[k]}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" className={secondary} onClick={add}>
              Ajouter la question
            </button>
          </div>
        )}
      </section>

      <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 pt-4 dark:border-slate-800">
        <Button type="submit" disabled={saving}>
          {saving ? "Enregistrement…" : assessment ? "Enregistrer" : "Créer l'évaluation"}
        </Button>
        <ErrorAlert message={general} />
        {Object.keys(errors).length > 0 && !general && (
          <p role="alert" className="text-red-700 dark:text-red-300">
            Corrigez les champs signalés.
          </p>
        )}
        <SuccessNote message={saved} />
      </div>
    </form>
  );
}

function ErrorText({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="text-sm text-red-700 dark:text-red-300">
      {message}
    </p>
  );
}

function TextField({
  id,
  label,
  hint,
  value,
  error,
  disabled,
  inputMode,
  onChange,
}: {
  id: string;
  label: string;
  hint?: string;
  value: string;
  error?: string;
  disabled?: boolean;
  inputMode?: "numeric" | "decimal";
  onChange: (v: string) => void;
}) {
  const describedBy = [hint ? `${id}-aide` : null, error ? `${id}-erreur` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <input
        id={id}
        className={inputClass}
        value={value}
        disabled={disabled}
        inputMode={inputMode}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint && (
        <p id={`${id}-aide`} className="text-sm text-slate-600 dark:text-slate-300">
          {hint}
        </p>
      )}
      <ErrorText id={`${id}-erreur`} message={error} />
    </div>
  );
}

function RadioGroup<T extends string>({
  name,
  legend,
  choices,
  value,
  error,
  onChange,
}: {
  name: string;
  legend: string;
  choices: { value: T; label: string; text: string }[];
  value: T;
  error?: string;
  onChange: (v: T) => void;
}) {
  return (
    <fieldset className="space-y-2" aria-invalid={error ? true : undefined} aria-describedby={error ? `${name}-erreur` : undefined}>
      <legend className={labelClass}>{legend}</legend>
      <div className="grid gap-2 md:grid-cols-2">
        {choices.map((c) => (
          <label
            key={c.value}
            className="flex gap-2 rounded-md border border-slate-300 p-3 has-checked:border-accent-700 has-checked:bg-accent-50 dark:border-slate-700 dark:has-checked:bg-slate-800"
          >
            <input type="radio" name={name} value={c.value} checked={value === c.value} onChange={() => onChange(c.value)} className="mt-1" />
            <span>
              <span className="block font-medium">{c.label}</span>
              <span className="block text-sm text-slate-700 dark:text-slate-300">{c.text}</span>
            </span>
          </label>
        ))}
      </div>
      <ErrorText id={`${name}-erreur`} message={error} />
    </fieldset>
  );
}
