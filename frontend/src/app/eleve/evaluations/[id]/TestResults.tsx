"use client";

// Per-test results of a code question: after "Exécuter les tests" (visible tests) and on
// the graded result (all tests as released; hidden ones only as "Test caché n").
import { summary, testPoints, type TestOutcome } from "@/lib/codeRun";

// Values wrap rather than scroll: a scrolling box would need a tab stop of its own (axe).
const valueClass = "mt-0.5 block whitespace-pre-wrap break-all rounded bg-slate-100 px-2 py-1 font-mono text-sm text-slate-900 dark:bg-slate-800 dark:text-slate-100";

export function TestResults({
  results,
  showPoints = false,
  showSummary = true,
  testId,
}: {
  results: TestOutcome[];
  showPoints?: boolean;
  /** Off where a live status already says it ("Exécuter"). */
  showSummary?: boolean;
  testId?: string;
}) {
  const allPassed = results.length > 0 && results.every((r) => r.passed);
  return (
    <div data-testid={testId}>
      {showSummary && (
        <p className={`font-semibold ${allPassed ? "text-emerald-800 dark:text-emerald-200" : "text-slate-900 dark:text-slate-100"}`} data-testid="resume-tests">
          {summary(results)}
        </p>
      )}
      <ul className="mt-2 space-y-2">
        {results.map((r, i) => (
          <li
            key={`${i}-${r.name}`}
            className={`min-w-0 rounded-md border border-l-4 border-slate-200 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-900 ${r.passed ? "border-l-emerald-600" : "border-l-red-600"}`}
            data-testid="resultat-test"
          >
            <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
              <p className="font-medium">{r.name}</p>
              <p className="flex items-center gap-2 text-sm">
                <span
                  className={`rounded-full px-2 py-0.5 font-medium ${
                    r.passed ? "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100" : "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100"
                  }`}
                >
                  <span aria-hidden="true">{r.passed ? "✓ " : "✗ "}</span>
                  {r.passed ? "Réussi" : "Échoué"}
                </span>
                {showPoints && <span data-testid="points-test">{testPoints(r)}</span>}
              </p>
            </div>
            {r.hidden ? (
              <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">Test caché : son contenu n&apos;est pas communiqué.</p>
            ) : (
              <dl className="mt-1 grid min-w-0 gap-1 text-sm sm:grid-cols-[auto_minmax(0,1fr)] sm:gap-x-3">
                {r.call && (
                  <>
                    <dt className="text-slate-700 dark:text-slate-300">Appel</dt>
                    <dd className="min-w-0">
                      <code className={valueClass}>{r.call}</code>
                    </dd>
                  </>
                )}
                {r.expected != null && (
                  <>
                    <dt className="text-slate-700 dark:text-slate-300">Attendu</dt>
                    <dd className="min-w-0">
                      <code className={valueClass} data-testid="attendu">
                        {r.expected}
                      </code>
                    </dd>
                  </>
                )}
                {r.actual != null && (
                  <>
                    <dt className="text-slate-700 dark:text-slate-300">Obtenu</dt>
                    <dd className="min-w-0">
                      <code className={valueClass} data-testid="obtenu">
                        {r.actual}
                      </code>
                    </dd>
                  </>
                )}
                {r.error && (
                  <>
                    <dt className="text-red-800 dark:text-red-200">Erreur</dt>
                    <dd className="min-w-0 text-red-900 dark:text-red-100" data-testid="erreur-test">
                      {r.error}
                    </dd>
                  </>
                )}
              </dl>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
