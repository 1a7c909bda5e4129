"use client";
// A section's examples (title, Python code, explanation) and exercises (question, hint,
// solution), as the reader shows them under the lesson. Removing one asks first.
import { ConfirmDialog } from "@/components/confirm";
import { Field, TextArea } from "@/components/ui";
import type { Section } from "../authoring";

type Example = NonNullable<Section["examples"]>[number];
type Exercise = NonNullable<Section["exercises"]>[number];

const ADD =
  "rounded-md border border-slate-400 px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800";
const REMOVE =
  "rounded-md border border-slate-300 px-2 py-1 text-sm text-red-800 hover:bg-slate-100 dark:border-slate-600 dark:text-red-200 dark:hover:bg-slate-800";

function replaceAt<T>(items: readonly T[], i: number, patch: Partial<T>): T[] {
  return items.map((x, j) => (j === i ? { ...x, ...patch } : x));
}

export function SectionExtras({
  section,
  onChange,
  invalidQuestions,
}: {
  section: Section;
  onChange: (patch: Partial<Section>) => void;
  /** The API refused the content: mark the exercises without a question. */
  invalidQuestions: boolean;
}) {
  const examples = section.examples ?? [];
  const exercises = section.exercises ?? [];
  const setExamples = (next: Example[]) => onChange({ examples: next });
  const setExercises = (next: Exercise[]) => onChange({ exercises: next });

  return (
    <>
      <fieldset className="space-y-4 rounded-lg border border-slate-200 p-3 dark:border-slate-700">
        <legend className="px-1 font-semibold">Exemples</legend>
        {examples.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">Aucun exemple.</p>}
        {examples.map((ex, i) => (
          <div key={i} className="space-y-3 border-b border-slate-200 pb-4 last:border-b-0 dark:border-slate-700">
            <Field id={`exemple-${i}-titre`} label={`Titre de l'exemple ${i + 1}`} value={ex.title ?? ""} onChange={(e) => setExamples(replaceAt(examples, i, { title: e.target.value }))} />
            <TextArea
              id={`exemple-${i}-code`}
              label={`Code Python de l'exemple ${i + 1}`}
              rows={5}
              spellCheck={false}
              className="font-mono text-sm"
              value={ex.code ?? ""}
              onChange={(e) => setExamples(replaceAt(examples, i, { code: e.target.value }))}
            />
            <TextArea
              id={`exemple-${i}-explication`}
              label={`Explication de l'exemple ${i + 1} (Markdown)`}
              rows={3}
              value={ex.explanation ?? ""}
              onChange={(e) => setExamples(replaceAt(examples, i, { explanation: e.target.value }))}
            />
            <ConfirmDialog
              trigger={
                <button type="button" className={REMOVE}>
                  Supprimer l&apos;exemple {i + 1}
                </button>
              }
              title={`Supprimer l'exemple ${i + 1} ?`}
              description="Son titre, son code et son explication seront perdus. Le cours n'est modifié qu'à l'enregistrement."
              confirmLabel="Supprimer l'exemple"
              destructive
              onConfirm={() => setExamples(examples.filter((_, j) => j !== i))}
              onCloseAutoFocus={(e) => {
                e.preventDefault();
                document.getElementById("ajouter-exemple")?.focus();
              }}
            />
          </div>
        ))}
        <button
          id="ajouter-exemple"
          type="button"
          className={ADD}
          onClick={() => {
            setExamples([...examples, { title: "", code: "", explanation: "" }]);
            requestAnimationFrame(() => document.getElementById(`exemple-${examples.length}-titre`)?.focus());
          }}
        >
          Ajouter un exemple
        </button>
      </fieldset>

      <fieldset className="space-y-4 rounded-lg border border-slate-200 p-3 dark:border-slate-700">
        <legend className="px-1 font-semibold">Exercices</legend>
        {exercises.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">Aucun exercice.</p>}
        {exercises.map((ex, i) => (
          <div key={i} className="space-y-3 border-b border-slate-200 pb-4 last:border-b-0 dark:border-slate-700">
            <TextArea
              id={`exercice-${i}-enonce`}
              label={`Énoncé de l'exercice ${i + 1} (Markdown)`}
              rows={3}
              value={ex.question}
              error={invalidQuestions && !ex.question.trim() ? "Chaque exercice a un énoncé." : undefined}
              onChange={(e) => setExercises(replaceAt(exercises, i, { question: e.target.value }))}
            />
            <TextArea
              id={`exercice-${i}-indice`}
              label={`Indice de l'exercice ${i + 1} (facultatif)`}
              rows={2}
              value={ex.hint ?? ""}
              onChange={(e) => setExercises(replaceAt(exercises, i, { hint: e.target.value }))}
            />
            <TextArea
              id={`exercice-${i}-solution`}
              label={`Solution de l'exercice ${i + 1} (facultatif)`}
              rows={3}
              value={ex.solution ?? ""}
              onChange={(e) => setExercises(replaceAt(exercises, i, { solution: e.target.value }))}
            />
            <ConfirmDialog
              trigger={
                <button type="button" className={REMOVE}>
                  Supprimer l&apos;exercice {i + 1}
                </button>
              }
              title={`Supprimer l'exercice ${i + 1} ?`}
              description="Son énoncé, son indice et sa solution seront perdus. Le cours n'est modifié qu'à l'enregistrement."
              confirmLabel="Supprimer l'exercice"
              destructive
              onConfirm={() => setExercises(exercises.filter((_, j) => j !== i))}
              onCloseAutoFocus={(e) => {
                e.preventDefault();
                document.getElementById("ajouter-exercice")?.focus();
              }}
            />
          </div>
        ))}
        <button
          id="ajouter-exercice"
          type="button"
          className={ADD}
          onClick={() => {
            setExercises([...exercises, { question: "", hint: "", solution: "" }]);
            requestAnimationFrame(() => document.getElementById(`exercice-${exercises.length}-enonce`)?.focus());
          }}
        >
          Ajouter un exercice
        </button>
      </fieldset>
    </>
  );
}
