"use client";

// "Exécuter les tests" under a code question with tests: runs the student's current code
// against the visible tests (POST /api/attempts/{id}/run; nothing saved or graded) and
// shows the result of each test. The API's refusals (20 runs a minute, time over,
// sandbox unavailable) are said in French in an alert.
import { useRef, useState } from "react";
import { api, errorMessage, NETWORK_ERROR, type Schemas } from "@/lib/api/client";
import { compileError, runDuration, runRefusal, summary, type TestOutcome } from "@/lib/codeRun";
import { SECONDARY_BUTTON } from "@/components/ui";
import { TestResults } from "./TestResults";
import { CodeHint } from "./CodeHint";

type VisibleTest = Schemas["VisibleTest"];

type Run = { results: TestOutcome[]; code: string; ms: number };

export function CodeRunPanel({
  attemptId,
  questionId,
  code,
  tests,
  hiddenTests,
  base,
  helpMode,
}: {
  attemptId: number;
  questionId: string;
  code: string;
  tests: VisibleTest[];
  hiddenTests: number;
  base: string;
  /** The assessment's help mode (resolved by the API): ARIA is offered unless `none`. */
  helpMode?: string;
}) {
  const [running, setRunning] = useState(false);
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  async function execute() {
    if (busy.current) return;
    busy.current = true;
    setRunning(true);
    setError(null);
    const sent = code;
    const started = performance.now();
    try {
      const { data, error: failure, response } = await api.POST("/api/attempts/{id}/run", {
        params: { path: { id: attemptId } },
        body: { questionId, code: sent },
      });
      if (data) setRun({ results: data.results, code: sent, ms: performance.now() - started });
      else setError(runRefusal(response.status, errorMessage(failure), response.headers.get("retry-after")));
    } catch {
      setError(NETWORK_ERROR);
    }
    busy.current = false;
    setRunning(false);
  }

  const compile = run ? compileError(run.results) : null;
  const stale = run !== null && run.code !== code;
  const status = running ? "Exécution des tests…" : run ? `${summary(run.results)} (en ${runDuration(run.ms)}).` : "";

  return (
    <div className="mt-3 space-y-3" data-testid="execution">
      <div>
        <h3 className="font-semibold" id={`${base}-exemples`}>
          Tests d&apos;exemple
        </h3>
        <ul className="mt-1 space-y-1 text-sm" aria-labelledby={`${base}-exemples`}>
          {tests.map((t, i) => (
            <li key={i} className="min-w-0">
              <span className="text-slate-700 dark:text-slate-300">{t.name} : </span>
              {t.call ? (
                <code className="break-all font-mono">
                  {t.call} → {t.expected}
                </code>
              ) : (
                <span>
                  entrée <code className="break-all font-mono">{JSON.stringify(t.stdin ?? "")}</code>, sortie attendue{" "}
                  <code className="break-all font-mono">{JSON.stringify(t.expected)}</code>
                </span>
              )}
            </li>
          ))}
        </ul>
        {hiddenTests > 0 && (
          <p className="mt-1 text-sm text-slate-700 dark:text-slate-300" data-testid="tests-caches">
            {hiddenTests > 1 ? `${hiddenTests} tests cachés comptent aussi` : "1 test caché compte aussi"} dans la note, à la remise de la copie.
          </p>
        )}
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="button" className={SECONDARY_BUTTON} onClick={() => void execute()} disabled={running} aria-describedby={`${base}-execution-aide`}>
          <span aria-hidden="true" className="mr-1">
            ▶
          </span>
          {running ? "Exécution…" : "Exécuter les tests"}
        </button>
        <p id={`${base}-execution-aide`} className="text-sm text-slate-700 dark:text-slate-300">
          Lance votre code sur les tests d&apos;exemple ; rien n&apos;est noté ni envoyé à l&apos;enseignant.
        </p>
      </div>
      <p role="status" className="font-medium" data-testid="etat-execution">
        {status}
      </p>
      {error && (
        <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100" data-testid="erreur-execution">
          {error}
        </p>
      )}
      {run && !running && (
        <div>
          {stale && <p className="mb-1 text-sm italic text-slate-700 dark:text-slate-300">Résultats de la dernière exécution : le code a changé depuis.</p>}
          {compile && (
            <p role="alert" className="mb-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100" data-testid="erreur-compilation">
              Le code ne peut pas s&apos;exécuter : <span className="font-mono">{compile}</span>
            </p>
          )}
          <TestResults results={run.results} testId="resultats-execution" showSummary={false} />
        </div>
      )}
      {helpMode && helpMode !== "none" && <CodeHint attemptId={attemptId} questionId={questionId} base={base} hintsOnly={helpMode !== "explain"} />}
    </div>
  );
}
