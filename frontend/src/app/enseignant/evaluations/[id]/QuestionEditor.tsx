"use client";

// One question in the builder, whatever its kind: prompt, points, what is expected
// (options, the right one(s), accepted answers, number and tolerance, items in order,
// starter code, tests and reference solution), the explanation shown after correction; move up/down, remove.
import { KIND_NAMES, KINDS, autoGraded, move, newTest, nextItemId, type DraftQuestion, type DraftTest, type Kind } from "@/lib/assessmentBuilder";
import { inputClass, labelClass, secondary, smallButton } from "./styles";

type Props = {
  q: DraftQuestion;
  index: number;
  count: number;
  /**
   * Messages by field (`prompt`, `points`, `answer`, `tolerance`, `reference`, `test:<key>:<field>`
   * with `test:<key>:` for the API's message on a test) and `""` for the API's message on the question.
   */
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (q: DraftQuestion) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
};

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="text-sm text-red-700 dark:text-red-300">
      {message}
    </p>
  );
}

export function QuestionEditor({ q, index, count, errors, disabled, onChange, onMove, onRemove }: Props) {
  const k = q.key;
  const n = index + 1;
  const set = (patch: Partial<DraftQuestion>) => onChange({ ...q, ...patch });
  const general = errors[""];
  const choice = q.type === "single_choice" || q.type === "multiple_choice";

  return (
    <fieldset
      id={`${k}-question`}
      className="space-y-4 rounded-xl border border-slate-300 bg-white p-4 aria-[invalid=true]:border-red-700 dark:border-slate-700 dark:bg-slate-900"
      aria-invalid={general ? true : undefined}
      aria-describedby={general ? `${k}-erreur` : undefined}
      data-testid="question"
    >
      <legend className="px-1 text-lg font-semibold">
        Question {n} <span className="font-normal text-slate-700 dark:text-slate-300">· {KIND_NAMES[q.type]}</span>
      </legend>
      {general && (
        <p id={`${k}-erreur`} role="alert" tabIndex={-1} data-error="" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {general}
        </p>
      )}
      <div className="grid gap-4 sm:grid-cols-[1fr_10rem]">
        <div className="flex flex-col gap-1">
          <label htmlFor={`${k}-type`} className={labelClass}>
            Type de question
          </label>
          <select id={`${k}-type`} className={inputClass} value={q.type} disabled={disabled} onChange={(e) => set({ type: e.target.value as Kind })}>
            {KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {KIND_NAMES[kind]}
                {autoGraded(kind) ? "" : kind === "code" ? " (notée par ses tests, sinon par vous)" : " (corrigée par vous)"}
              </option>
            ))}
          </select>
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={`${k}-points`} className={labelClass}>
            Points
          </label>
          <input
            id={`${k}-points`}
            inputMode="decimal"
            className={inputClass}
            value={q.points}
            disabled={disabled}
            aria-invalid={errors.points ? true : undefined}
            aria-describedby={errors.points ? `${k}-points-erreur` : undefined}
            onChange={(e) => set({ points: e.target.value })}
          />
          <FieldError id={`${k}-points-erreur`} message={errors.points} />
        </div>
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={`${k}-prompt`} className={labelClass}>
          Énoncé
        </label>
        <textarea
          id={`${k}-prompt`}
          rows={3}
          className={inputClass}
          value={q.prompt}
          disabled={disabled}
          aria-describedby={`${k}-prompt-aide`}
          onChange={(e) => set({ prompt: e.target.value })}
        />
        <p id={`${k}-prompt-aide`} className="text-sm text-slate-600 dark:text-slate-300">
          Markdown : **gras**, `code`, listes, blocs de code entre ```.
        </p>
      </div>

      {choice && <Options q={q} disabled={disabled} set={set} />}

      {q.type === "true_false" && (
        <fieldset className="space-y-1">
          <legend className={labelClass}>Réponse attendue</legend>
          <div className="flex gap-6">
            {[true, false].map((v) => (
              <label key={String(v)} className="flex items-center gap-2">
                <input type="radio" name={`${k}-truth`} checked={q.truth === v} disabled={disabled} onChange={() => set({ truth: v })} />
                {v ? "Vrai" : "Faux"}
              </label>
            ))}
          </div>
        </fieldset>
      )}

      {q.type === "short_answer" && (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${k}-accepted`} className={labelClass}>
            Réponses acceptées (une par ligne)
          </label>
          <textarea
            id={`${k}-accepted`}
            rows={3}
            className={inputClass}
            value={q.accepted}
            disabled={disabled}
            aria-describedby={`${k}-accepted-aide`}
            onChange={(e) => set({ accepted: e.target.value })}
          />
          <p id={`${k}-accepted-aide`} className="text-sm text-slate-600 dark:text-slate-300">
            Les majuscules, les accents, les espaces et la ponctuation finale ne comptent pas.
          </p>
        </div>
      )}

      {q.type === "numeric" && (
        <div className="grid gap-4 sm:grid-cols-2">
          <div className="flex flex-col gap-1">
            <label htmlFor={`${k}-answer`} className={labelClass}>
              Réponse attendue
            </label>
            <input
              id={`${k}-answer`}
              inputMode="decimal"
              className={inputClass}
              value={q.answer}
              disabled={disabled}
              aria-invalid={errors.answer ? true : undefined}
              aria-describedby={errors.answer ? `${k}-answer-erreur` : undefined}
              onChange={(e) => set({ answer: e.target.value })}
            />
            <FieldError id={`${k}-answer-erreur`} message={errors.answer} />
          </div>
          <div className="flex flex-col gap-1">
            <label htmlFor={`${k}-tolerance`} className={labelClass}>
              Tolérance (facultatif)
            </label>
            <input
              id={`${k}-tolerance`}
              inputMode="decimal"
              className={inputClass}
              value={q.tolerance}
              disabled={disabled}
              aria-invalid={errors.tolerance ? true : undefined}
              aria-describedby={`${k}-tolerance-aide${errors.tolerance ? ` ${k}-tolerance-erreur` : ""}`}
              onChange={(e) => set({ tolerance: e.target.value })}
            />
            <p id={`${k}-tolerance-aide`} className="text-sm text-slate-600 dark:text-slate-300">
              Écart accepté de part et d&apos;autre (0 : la valeur exacte).
            </p>
            <FieldError id={`${k}-tolerance-erreur`} message={errors.tolerance} />
          </div>
        </div>
      )}

      {q.type === "ordering" && <Items q={q} disabled={disabled} set={set} />}

      {q.type === "code" && (
        <>
          <div className="flex flex-col gap-1">
            <label htmlFor={`${k}-starter`} className={labelClass}>
              Code de départ (facultatif)
            </label>
            <textarea
              id={`${k}-starter`}
              rows={5}
              spellCheck={false}
              className={`${inputClass} font-mono text-sm`}
              value={q.starter}
              disabled={disabled}
              aria-describedby={`${k}-starter-aide`}
              onChange={(e) => set({ starter: e.target.value })}
            />
            <p id={`${k}-starter-aide`} className="text-sm text-slate-600 dark:text-slate-300">
              Python. L&apos;élève le trouve dans son éditeur. Avec des tests, la note est calculée par le serveur ; sans test, vous
              corrigez ces réponses dans la file de correction.
            </p>
          </div>
          <CodeTests q={q} errors={errors} disabled={disabled} set={set} />
          <div className="flex flex-col gap-1">
            <label htmlFor={`${k}-reference`} className={labelClass}>
              Solution de référence (facultatif)
            </label>
            <textarea
              id={`${k}-reference`}
              rows={5}
              spellCheck={false}
              className={`${inputClass} font-mono text-sm`}
              value={q.reference}
              disabled={disabled}
              aria-invalid={errors.reference ? true : undefined}
              aria-describedby={`${k}-reference-aide${errors.reference ? ` ${k}-reference-erreur` : ""}`}
              onChange={(e) => set({ reference: e.target.value })}
            />
            <p id={`${k}-reference-aide`} className="text-sm text-slate-600 dark:text-slate-300">
              Jamais montrée aux élèves. À l&apos;enregistrement, le serveur l&apos;exécute sur chaque test : elle doit tous les réussir.
            </p>
            <FieldError id={`${k}-reference-erreur`} message={errors.reference} />
          </div>
        </>
      )}

      {q.type === "free_text" && (
        <p className="text-sm text-slate-700 dark:text-slate-300">L&apos;élève rédige sa réponse ; vous la corrigez dans la file de correction.</p>
      )}

      <div className="flex flex-col gap-1">
        <label htmlFor={`${k}-explanation`} className={labelClass}>
          Explication (facultatif)
        </label>
        <textarea
          id={`${k}-explanation`}
          rows={2}
          className={inputClass}
          value={q.explanation}
          disabled={disabled}
          aria-describedby={`${k}-explanation-aide`}
          onChange={(e) => set({ explanation: e.target.value })}
        />
        <p id={`${k}-explanation-aide`} className="text-sm text-slate-600 dark:text-slate-300">
          Montrée aux élèves avec leur copie notée, une fois la correction publiée.
        </p>
      </div>

      {!disabled && (
        <div className="flex flex-wrap gap-2 border-t border-slate-200 pt-3 dark:border-slate-700">
          <button type="button" id={`${k}-up`} className={smallButton} disabled={index === 0} onClick={() => onMove(-1)}>
            <span aria-hidden="true">↑ </span>Monter<span className="sr-only"> la question {n}</span>
          </button>
          <button type="button" id={`${k}-down`} className={smallButton} disabled={index === count - 1} onClick={() => onMove(1)}>
            <span aria-hidden="true">↓ </span>Descendre<span className="sr-only"> la question {n}</span>
          </button>
          <button type="button" className={`${smallButton} text-red-800 dark:text-red-300`} onClick={onRemove}>
            Supprimer la question {n}
          </button>
        </div>
      )}
    </fieldset>
  );
}

function Options({ q, disabled, set }: { q: DraftQuestion; disabled: boolean; set: (p: Partial<DraftQuestion>) => void }) {
  const k = q.key;
  const single = q.type === "single_choice";
  const toggle = (i: number) => {
    if (single) set({ correct: [i] });
    else set({ correct: q.correct.includes(i) ? q.correct.filter((c) => c !== i) : [...q.correct, i] });
  };
  const remove = (i: number) => {
    const options = q.options.filter((_, j) => j !== i);
    const correct = q.correct.filter((c) => c !== i).map((c) => (c > i ? c - 1 : c));
    set({ options, correct: single && correct.length === 0 ? [0] : correct });
    requestAnimationFrame(() => document.getElementById(`${k}-option-${Math.min(i, options.length - 1)}`)?.focus());
  };
  return (
    <fieldset className="space-y-2">
      <legend className={labelClass}>Options {single ? "(cochez la bonne réponse)" : "(cochez toutes les bonnes réponses)"}</legend>
      <ol className="space-y-2">
        {q.options.map((o, i) => (
          <li key={i} className="flex flex-wrap items-center gap-2">
            <label className="flex items-center gap-1 text-sm">
              <input
                type={single ? "radio" : "checkbox"}
                name={`${k}-correct`}
                checked={q.correct.includes(i)}
                disabled={disabled}
                onChange={() => toggle(i)}
              />
              Bonne réponse<span className="sr-only"> : option {i + 1}</span>
            </label>
            <label htmlFor={`${k}-option-${i}`} className="sr-only">
              Option {i + 1}
            </label>
            <input
              id={`${k}-option-${i}`}
              className={`${inputClass} min-w-0 flex-1`}
              value={o}
              disabled={disabled}
              placeholder={`Option ${i + 1}`}
              onChange={(e) => set({ options: q.options.map((x, j) => (j === i ? e.target.value : x)) })}
            />
            {!disabled && q.options.length > 2 && (
              <button type="button" className={smallButton} onClick={() => remove(i)}>
                Retirer<span className="sr-only"> l&apos;option {i + 1}</span>
              </button>
            )}
          </li>
        ))}
      </ol>
      {!disabled && q.options.length < 20 && (
        <button
          type="button"
          className={secondary}
          onClick={() => {
            set({ options: [...q.options, ""] });
            requestAnimationFrame(() => document.getElementById(`${k}-option-${q.options.length}`)?.focus());
          }}
        >
          Ajouter une option
        </button>
      )}
    </fieldset>
  );
}

function Items({ q, disabled, set }: { q: DraftQuestion; disabled: boolean; set: (p: Partial<DraftQuestion>) => void }) {
  const k = q.key;
  const shift = (i: number, by: number) => {
    set({ items: move(q.items, i, by) });
    const to = i + by;
    requestAnimationFrame(() => document.getElementById(`${k}-item-${to}-${by < 0 ? (to === 0 ? "down" : "up") : to === q.items.length - 1 ? "up" : "down"}`)?.focus());
  };
  return (
    <fieldset className="space-y-2">
      <legend className={labelClass}>Éléments, dans le bon ordre</legend>
      <p className="text-sm text-slate-600 dark:text-slate-300">Les élèves les reçoivent mélangés et doivent les remettre dans cet ordre.</p>
      <ol className="space-y-2">
        {q.items.map((item, i) => (
          <li key={item.id} className="flex flex-wrap items-center gap-2">
            <span aria-hidden="true" className="w-6 text-right font-medium">
              {i + 1}.
            </span>
            <label htmlFor={`${k}-item-${i}`} className="sr-only">
              Élément {i + 1}
            </label>
            <input
              id={`${k}-item-${i}`}
              className={`${inputClass} min-w-0 flex-1`}
              value={item.text}
              disabled={disabled}
              onChange={(e) => set({ items: q.items.map((x, j) => (j === i ? { ...x, text: e.target.value } : x)) })}
            />
            {!disabled && (
              <>
                <button type="button" id={`${k}-item-${i}-up`} className={smallButton} disabled={i === 0} onClick={() => shift(i, -1)}>
                  <span aria-hidden="true">↑</span>
                  <span className="sr-only">Monter l&apos;élément {i + 1}</span>
                </button>
                <button type="button" id={`${k}-item-${i}-down`} className={smallButton} disabled={i === q.items.length - 1} onClick={() => shift(i, 1)}>
                  <span aria-hidden="true">↓</span>
                  <span className="sr-only">Descendre l&apos;élément {i + 1}</span>
                </button>
                {q.items.length > 2 && (
                  <button type="button" className={smallButton} onClick={() => set({ items: q.items.filter((_, j) => j !== i) })}>
                    Retirer<span className="sr-only"> l&apos;élément {i + 1}</span>
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ol>
      {!disabled && q.items.length < 20 && (
        <button
          type="button"
          className={secondary}
          onClick={() => {
            set({ items: [...q.items, { id: nextItemId(q.items), text: "" }] });
            requestAnimationFrame(() => document.getElementById(`${k}-item-${q.items.length}`)?.focus());
          }}
        >
          Ajouter un élément
        </button>
      )}
    </fieldset>
  );
}

function CodeTests({
  q,
  errors,
  disabled,
  set,
}: {
  q: DraftQuestion;
  errors: Record<string, string>;
  disabled: boolean;
  set: (p: Partial<DraftQuestion>) => void;
}) {
  const k = q.key;
  const update = (i: number, patch: Partial<DraftTest>) => set({ tests: q.tests.map((t, j) => (j === i ? { ...t, ...patch } : t)) });
  const remove = (i: number) => {
    const tests = q.tests.filter((_, j) => j !== i);
    set({ tests });
    const next = tests[Math.min(i, tests.length - 1)];
    requestAnimationFrame(() => document.getElementById(next ? `${k}-${next.key}-name` : `${k}-add-test`)?.focus());
  };
  return (
    <fieldset className="space-y-3">
      <legend className={labelClass}>Tests</legend>
      <p className="text-sm text-slate-600 dark:text-slate-300">
        Chaque test appelle la fonction de l&apos;élève et compare le résultat à une valeur Python (<code>6</code>, <code>[1, 2]</code>,{" "}
        <code>&apos;abc&apos;</code>). Les tests visibles servent d&apos;exemples à l&apos;élève ; les tests cachés comptent dans la note sans que
        leur contenu soit montré. La note de la question est partagée selon les points des tests réussis.
      </p>
      {q.tests.length === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">Aucun test : vous corrigerez ce code à la main.</p>}
      <ol className="space-y-3">
        {q.tests.map((t, i) => {
          const id = `${k}-${t.key}`;
          const err = (f: string) => errors[`test:${t.key}:${f}`];
          const general = errors[`test:${t.key}:`];
          const field = (f: "name" | "call" | "expected" | "points", label: string, opts: { mono?: boolean; decimal?: boolean; hint?: string } = {}) => {
            const e = err(f);
            const described = [opts.hint ? `${id}-${f}-aide` : null, e ? `${id}-${f}-erreur` : null].filter(Boolean).join(" ") || undefined;
            return (
              <div className="flex min-w-0 flex-col gap-1">
                <label htmlFor={`${id}-${f}`} className="text-sm font-medium">
                  {label}
                </label>
                <input
                  id={`${id}-${f}`}
                  className={`${inputClass} ${opts.mono ? "font-mono text-sm" : ""}`}
                  spellCheck={opts.mono ? false : undefined}
                  inputMode={opts.decimal ? "decimal" : undefined}
                  value={t[f]}
                  disabled={disabled}
                  aria-invalid={e ? true : undefined}
                  aria-describedby={described}
                  onChange={(ev) => update(i, { [f]: ev.target.value })}
                />
                {opts.hint && (
                  <p id={`${id}-${f}-aide`} className="text-xs text-slate-600 dark:text-slate-300">
                    {opts.hint}
                  </p>
                )}
                <FieldError id={`${id}-${f}-erreur`} message={e} />
              </div>
            );
          };
          return (
            <li key={t.key}>
              <fieldset
                className="space-y-2 rounded-lg border border-slate-200 p-3 aria-[invalid=true]:border-red-700 dark:border-slate-700"
                aria-invalid={general ? true : undefined}
                aria-describedby={general ? `${id}-erreur` : undefined}
                data-testid="code-test"
              >
                <legend className="px-1 text-sm font-semibold">
                  Test {i + 1}
                  {t.hidden ? " (caché)" : ""}
                </legend>
                {general && (
                  <p id={`${id}-erreur`} role="alert" tabIndex={-1} data-error="" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
                    {general}
                  </p>
                )}
                <div className="grid gap-3 sm:grid-cols-2">
                  {field("name", "Nom")}
                  {t.stdin === null ? (
                    field("call", "Appel", { mono: true, hint: "Par exemple somme_paires([1, 2])" })
                  ) : (
                    <div className="flex min-w-0 flex-col gap-1">
                      <label htmlFor={`${id}-stdin`} className="text-sm font-medium">
                        Entrée du programme
                      </label>
                      <textarea
                        id={`${id}-stdin`}
                        rows={2}
                        spellCheck={false}
                        className={`${inputClass} font-mono text-sm`}
                        value={t.stdin}
                        disabled={disabled}
                        onChange={(ev) => update(i, { stdin: ev.target.value })}
                      />
                    </div>
                  )}
                  {field("expected", t.stdin === null ? "Résultat attendu" : "Sortie attendue", { mono: true })}
                  {field("points", "Points", { decimal: true })}
                </div>
                <div className="flex flex-wrap items-center gap-4">
                  <label className="flex items-center gap-2 text-sm">
                    <input type="checkbox" checked={t.hidden} disabled={disabled} onChange={(ev) => update(i, { hidden: ev.target.checked })} />
                    Caché<span className="sr-only"> : test {i + 1}</span>
                  </label>
                  {!disabled && (
                    <button type="button" className={smallButton} onClick={() => remove(i)}>
                      Retirer le test {i + 1}
                    </button>
                  )}
                </div>
              </fieldset>
            </li>
          );
        })}
      </ol>
      {!disabled && q.tests.length < 30 && (
        <button
          type="button"
          id={`${k}-add-test`}
          className={secondary}
          onClick={() => {
            const t = newTest(q.tests);
            set({ tests: [...q.tests, t] });
            requestAnimationFrame(() => document.getElementById(`${k}-${t.key}-call`)?.focus());
          }}
        >
          Ajouter un test
        </button>
      )}
    </fieldset>
  );
}
