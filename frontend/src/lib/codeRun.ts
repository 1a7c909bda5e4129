// Pure helpers for code questions with tests (issue #15): the summary of a run, the
// compile error shared by every test, and the French message for a refused run.
import { formatNumber } from "./format";

/** One test's result as the API sends it (`TestResult` in openapi.json). */
export type TestOutcome = {
  name: string;
  hidden: boolean;
  passed: boolean;
  points: number;
  maxPoints: number;
  call?: string | null;
  expected?: string | null;
  actual?: string | null;
  error?: string | null;
};

/** "3/5 tests réussis", "1/1 test réussi", "0/2 tests réussis" (agrees with the total). */
export function summary(results: TestOutcome[]): string {
  const passed = results.filter((r) => r.passed).length;
  const total = results.length;
  return `${passed}/${total} ${total > 1 ? "tests réussis" : "test réussi"}`;
}

/**
 * When the code does not compile, the API fails every test with the same message
 * ("SyntaxError ligne 2 : …"): that message once, to show above the tests.
 */
export function compileError(results: TestOutcome[]): string | null {
  if (results.length === 0) return null;
  const first = results[0]!.error;
  if (!first || !/^(SyntaxError|IndentationError|TabError)\b/.test(first)) return null;
  return results.every((r) => !r.passed && r.error === first && !r.actual) ? first : null;
}

/** "Vous pourrez réessayer dans 12 s." for a Retry-After in seconds. */
export function retryIn(seconds: number): string {
  if (seconds < 90) return `Vous pourrez réessayer dans ${Math.max(1, Math.round(seconds))} s.`;
  return `Vous pourrez réessayer dans ${Math.round(seconds / 60)} min.`;
}

/** The message for a run the API refused: its French `error`, plus when to retry (429). */
export function runRefusal(status: number, message: string, retryAfter: string | null): string {
  if (status === 429) {
    const seconds = Number(retryAfter);
    const wait = Number.isFinite(seconds) && seconds > 0 ? ` ${retryIn(seconds)}` : "";
    return `Trop d'exécutions en peu de temps (20 par minute au plus).${wait}`;
  }
  return message;
}

/** "0,4 s" for a run's duration in milliseconds (measured by the browser). */
export function runDuration(ms: number): string {
  if (ms < 1000) return `${formatNumber(Math.max(0.1, Math.round(ms / 100) / 10))} s`;
  return `${formatNumber(Math.round(ms / 100) / 10)} s`;
}

/** "1 / 2 pt" for a test's points. */
export function testPoints(r: TestOutcome): string {
  return `${formatNumber(r.points)} / ${formatNumber(r.maxPoints)} ${r.maxPoints > 1 ? "pts" : "pt"}`;
}
