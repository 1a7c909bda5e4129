"use client";

// One question of an attempt, whatever its type (services/api/src/assessments/questions.rs):
// single and multiple choice, true/false, short answer, numeric, ordering, code, free text.
import dynamic from "next/dynamic";
import { useRef, useState } from "react";
import type { Schemas } from "@/lib/api/client";
import { formatNumber } from "@/lib/format";
import { Markdown } from "@/lib/markdown";
import { Skeleton } from "@/components/ui";
import { CodeRunPanel } from "./CodeRunPanel";

type Question = Schemas["StudentQuestion"];

// CodeMirror only for the attempts that have a code question (docs/FRONTEND.md).
const CodeEditor = dynamic(() => import("./CodeEditor"), {
  ssr: false,
  loading: () => (
    <div className="rounded-md border border-slate-400 p-3 dark:border-slate-600">
      <p className="sr-only" role="status">
        Chargement de l&apos;éditeur de code…
      </p>
      <Skeleton lines={4} />
    </div>
  ),
});

export const KIND_LABELS: Record<string, string> = {
  single_choice: "Une seule réponse",
  multiple_choice: "Plusieurs réponses possibles",
  true_false: "Vrai ou faux",
  short_answer: "Réponse courte",
  numeric: "Réponse numérique",
  ordering: "Remettre dans l'ordre",
  code: "Code Python",
  free_text: "Réponse rédigée",
};

const inputClass =
  "w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100";
const choiceClass =
  "flex cursor-pointer items-start gap-3 rounded-md border border-slate-300 px-3 py-2 hover:bg-slate-50 has-[:checked]:border-accent-700 has-[:checked]:bg-accent-50 dark:border-slate-700 dark:hover:bg-slate-800 dark:has-[:checked]:bg-slate-800";

type Props = {
  question: Question;
  index: number;
  answer: unknown;
  onAnswer: (value: unknown) => void;
  onBlur: () => void;
  /** The attempt in progress: code questions with tests can then be run ("Exécuter"). */
  attemptId?: number;
  /** The assessment's help mode: ARIA's hint on a code question unless `none`. */
  helpMode?: string;
};

export function QuestionField({ question: q, index, answer, onAnswer, onBlur, attemptId, helpMode }: Props) {
  const base = `question-${index + 1}`;
  const titleId = `${base}-titre`;
  const promptId = `${base}-enonce`;
  return (
    <section aria-labelledby={titleId} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900" data-testid={`question-${q.id}`}>
      <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={titleId} className="text-lg font-semibold">
          Question {index + 1}
        </h2>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {KIND_LABELS[q.type] ?? q.type} · {formatNumber(q.points)} {q.points > 1 ? "points" : "point"}
        </p>
      </div>
      <div id={promptId} className="md mb-4">
        <Markdown source={q.prompt} headingOffset={3} />
      </div>
      <Answer q={q} base={base} titleId={titleId} promptId={promptId} answer={answer} onAnswer={onAnswer} onBlur={onBlur} />
      {q.type === "code" && attemptId !== undefined && (q.tests?.length ?? 0) > 0 && (
        <CodeRunPanel
          attemptId={attemptId}
          questionId={q.id}
          code={typeof answer === "string" ? answer : (q.starter ?? "")}
          tests={q.tests ?? []}
          hiddenTests={q.hiddenTests ?? 0}
          base={base}
          helpMode={helpMode}
        />
      )}
    </section>
  );
}

function Answer({
  q,
  base,
  titleId,
  promptId,
  answer,
  onAnswer,
  onBlur,
}: {
  q: Question;
  base: string;
  titleId: string;
  promptId: string;
  answer: unknown;
  onAnswer: (value: unknown) => void;
  onBlur: () => void;
}) {
  const groupLabel = `${titleId} ${promptId}`;
  switch (q.type) {
    case "single_choice":
      return (
        <div role="radiogroup" aria-labelledby={groupLabel} className="space-y-2">
          {(q.options ?? []).map((option, i) => (
            <label key={i} className={choiceClass}>
              <input type="radio" name={base} className="mt-1 size-4 accent-accent-700" checked={answer === i} onChange={() => onAnswer(i)} onBlur={onBlur} />
              <span>{option}</span>
            </label>
          ))}
        </div>
      );
    case "multiple_choice": {
      const picked = Array.isArray(answer) ? (answer as number[]) : [];
      return (
        <div role="group" aria-labelledby={groupLabel} className="space-y-2">
          {(q.options ?? []).map((option, i) => (
            <label key={i} className={choiceClass}>
              <input
                type="checkbox"
                className="mt-1 size-4 accent-accent-700"
                checked={picked.includes(i)}
                onChange={(e) => onAnswer(e.target.checked ? [...picked, i].sort((a, b) => a - b) : picked.filter((p) => p !== i))}
                onBlur={onBlur}
              />
              <span>{option}</span>
            </label>
          ))}
        </div>
      );
    }
    case "true_false":
      return (
        <div role="radiogroup" aria-labelledby={groupLabel} className="flex flex-wrap gap-3">
          {[
            [true, "Vrai"],
            [false, "Faux"],
          ].map(([value, label]) => (
            <label key={String(value)} className={`${choiceClass} min-w-28`}>
              <input type="radio" name={base} className="mt-1 size-4 accent-accent-700" checked={answer === value} onChange={() => onAnswer(value)} onBlur={onBlur} />
              <span>{label}</span>
            </label>
          ))}
        </div>
      );
    case "short_answer":
    case "numeric": {
      const numeric = q.type === "numeric";
      return (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${base}-reponse`} className="font-medium">
            Votre réponse
          </label>
          <input
            id={`${base}-reponse`}
            type="text"
            inputMode={numeric ? "decimal" : "text"}
            maxLength={numeric ? 50 : 500}
            autoComplete="off"
            aria-describedby={numeric ? `${promptId} ${base}-aide` : promptId}
            className={`${inputClass} ${numeric ? "max-w-xs" : ""}`}
            value={typeof answer === "string" ? answer : typeof answer === "number" ? String(answer) : ""}
            onChange={(e) => onAnswer(e.target.value)}
            onBlur={onBlur}
          />
          {numeric && (
            <p id={`${base}-aide`} className="text-sm text-slate-600 dark:text-slate-300">
              Un nombre ; la virgule ou le point pour les décimales.
            </p>
          )}
        </div>
      );
    }
    case "free_text":
      return (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${base}-reponse`} className="font-medium">
            Votre réponse
          </label>
          <textarea
            id={`${base}-reponse`}
            rows={6}
            maxLength={20000}
            aria-describedby={promptId}
            className={inputClass}
            value={typeof answer === "string" ? answer : ""}
            onChange={(e) => onAnswer(e.target.value)}
            onBlur={onBlur}
          />
        </div>
      );
    case "code":
      return (
        <div className="flex min-w-0 flex-col gap-1">
          <p id={`${base}-aide`} className="text-sm text-slate-600 dark:text-slate-300" data-testid="aide-editeur">
            Éditeur Python : <kbd>Tab</kbd> indente de 4 espaces, <kbd>Maj</kbd>+<kbd>Tab</kbd> désindente ; <kbd>Échap</kbd> puis <kbd>Tab</kbd> pour
            quitter l&apos;éditeur.
          </p>
          <CodeEditor
            value={typeof answer === "string" ? answer : (q.starter ?? "")}
            onChange={onAnswer}
            onBlur={onBlur}
            labelledBy={titleId}
            describedBy={`${promptId} ${base}-aide`}
          />
        </div>
      );
    case "ordering":
      return <Ordering q={q} groupLabel={groupLabel} answer={answer} onAnswer={onAnswer} />;
    default:
      return <p className="text-slate-700 dark:text-slate-300">Ce type de question ne peut pas encore être affiché.</p>;
  }
}

function Ordering({
  q,
  groupLabel,
  answer,
  onAnswer,
}: {
  q: Question;
  groupLabel: string;
  answer: unknown;
  onAnswer: (value: unknown) => void;
}) {
  const items = q.items ?? [];
  const byId = new Map(items.map((i) => [i.id, i]));
  const given = Array.isArray(answer) ? (answer as string[]).filter((id) => byId.has(id)) : [];
  const order = given.length === items.length ? given : items.map((i) => i.id);
  const [said, setSaid] = useState("");
  const buttons = useRef(new Map<string, HTMLButtonElement | null>());

  function move(from: number, to: number, direction: "up" | "down") {
    const next = [...order];
    const [id] = next.splice(from, 1);
    next.splice(to, 0, id!);
    onAnswer(next);
    setSaid(`« ${byId.get(id!)?.text} » en position ${to + 1} sur ${next.length}.`);
    // Keep the focus on the button of the item moved (or its other button at an end).
    requestAnimationFrame(() => {
      const atEnd = (direction === "up" && to === 0) || (direction === "down" && to === next.length - 1);
      const key = `${id}-${atEnd ? (direction === "up" ? "down" : "up") : direction}`;
      buttons.current.get(key)?.focus();
    });
  }

  const moveClass =
    "inline-flex min-h-10 min-w-10 items-center justify-center rounded-md border border-slate-400 text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-40 dark:text-slate-100 dark:hover:bg-slate-800";
  return (
    <div role="group" aria-labelledby={groupLabel}>
      <ol className="space-y-2">
        {order.map((id, i) => {
          const text = byId.get(id)?.text ?? id;
          return (
            <li key={id} className="flex items-center gap-2 rounded-md border border-slate-300 px-3 py-2 dark:border-slate-700">
              <span aria-hidden="true" className="w-6 font-semibold text-slate-600 dark:text-slate-300">
                {i + 1}.
              </span>
              <span className="flex-1">{text}</span>
              <button
                type="button"
                ref={(el) => {
                  buttons.current.set(`${id}-up`, el);
                }}
                className={moveClass}
                disabled={i === 0}
                onClick={() => move(i, i - 1, "up")}
                aria-label={`Monter « ${text} »`}
              >
                ↑
              </button>
              <button
                type="button"
                ref={(el) => {
                  buttons.current.set(`${id}-down`, el);
                }}
                className={moveClass}
                disabled={i === order.length - 1}
                onClick={() => move(i, i + 1, "down")}
                aria-label={`Descendre « ${text} »`}
              >
                ↓
              </button>
            </li>
          );
        })}
      </ol>
      {given.length !== items.length && (
        <button type="button" className="mt-2 text-sm text-accent-800 underline underline-offset-2 dark:text-accent-100" onClick={() => onAnswer(order)}>
          Garder cet ordre comme réponse
        </button>
      )}
      <p className="sr-only" aria-live="polite">
        {said}
      </p>
    </div>
  );
}
