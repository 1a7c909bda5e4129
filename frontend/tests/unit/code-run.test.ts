import { describe, expect, it } from "vitest";
import { compileError, retryIn, runDuration, runRefusal, summary, testPoints, type TestOutcome } from "@/lib/codeRun";

const test = (over: Partial<TestOutcome>): TestOutcome => ({ name: "t", hidden: false, passed: true, points: 1, maxPoints: 1, ...over });

describe("code run summary", () => {
  it("counts the tests passed, in French with singular and plural", () => {
    expect(summary([test({}), test({}), test({}), test({ passed: false }), test({ passed: false })])).toBe("3/5 tests réussis");
    expect(summary([test({})])).toBe("1/1 test réussi");
    expect(summary([test({ passed: false }), test({ passed: false })])).toBe("0/2 tests réussis");
    expect(summary([])).toBe("0/0 test réussi");
  });
});

describe("compile error", () => {
  const syntax = "SyntaxError ligne 2 : invalid syntax";
  it("is found when every test failed with the same syntax error and no value", () => {
    expect(compileError([test({ passed: false, error: syntax }), test({ passed: false, error: syntax })])).toBe(syntax);
    expect(compileError([test({ passed: false, error: "IndentationError ligne 3 : expected an indented block" })])).toBe(
      "IndentationError ligne 3 : expected an indented block",
    );
  });
  it("is not claimed for runtime errors, mixed errors or a test that passed", () => {
    expect(compileError([])).toBeNull();
    expect(compileError([test({ passed: false, error: "NameError : name 'x' is not defined" })])).toBeNull();
    expect(compileError([test({ passed: false, error: syntax }), test({ passed: false, error: "temps dépassé (boucle infinie ?)" })])).toBeNull();
    expect(compileError([test({ passed: false, error: syntax }), test({ passed: true })])).toBeNull();
    expect(compileError([test({ passed: false, error: syntax, actual: "3" })])).toBeNull();
  });
});

describe("refused runs", () => {
  it("says when to retry after a 429, from Retry-After", () => {
    expect(runRefusal(429, "Trop de requêtes. Réessayez dans quelques instants.", "12")).toBe(
      "Trop d'exécutions en peu de temps (20 par minute au plus). Vous pourrez réessayer dans 12 s.",
    );
    expect(runRefusal(429, "Trop de requêtes.", null)).toBe("Trop d'exécutions en peu de temps (20 par minute au plus).");
    expect(runRefusal(429, "Trop de requêtes.", "abc")).toBe("Trop d'exécutions en peu de temps (20 par minute au plus).");
    expect(retryIn(0.2)).toBe("Vous pourrez réessayer dans 1 s.");
    expect(retryIn(150)).toBe("Vous pourrez réessayer dans 3 min.");
  });
  it("keeps the API's French message otherwise", () => {
    expect(runRefusal(409, "Le temps est écoulé : rendez la copie.", null)).toBe("Le temps est écoulé : rendez la copie.");
    expect(runRefusal(503, "Le service est momentanément indisponible.", "5")).toBe("Le service est momentanément indisponible.");
  });
});

describe("formatting", () => {
  it("shows durations and points the French way", () => {
    expect(runDuration(420)).toBe("0,4 s");
    expect(runDuration(10)).toBe("0,1 s");
    expect(runDuration(1530)).toBe("1,5 s");
    expect(testPoints(test({ points: 0, maxPoints: 2 }))).toBe("0 / 2 pts");
    expect(testPoints(test({ points: 0.5, maxPoints: 1 }))).toBe("0,5 / 1 pt");
  });
});
