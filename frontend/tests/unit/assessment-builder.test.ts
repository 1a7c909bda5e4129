import { describe, expect, it } from "vitest";
import {
  KINDS,
  answerText,
  assessmentBody,
  effectiveHelpMode,
  emptySettings,
  fromApi,
  move,
  newQuestion,
  newTest,
  nextQuestionId,
  parseNumber,
  questionErrorTarget,
  questionStats,
  toApi,
  type ApiQuestion,
} from "@/lib/assessmentBuilder";
import { assessmentActivity, assessmentOf } from "@/lib/hub/presence";

describe("assessment builder", () => {
  it("reads numbers typed the French way", () => {
    expect(parseNumber("3,14")).toBe(3.14);
    expect(parseNumber(" 2 ")).toBe(2);
    expect(parseNumber("1.5")).toBe(1.5);
    expect(parseNumber("")).toBeNull();
    expect(parseNumber("abc")).toBeNull();
    expect(parseNumber("1,2,3")).toBeNull();
  });

  it("gives free question ids", () => {
    expect(nextQuestionId([])).toBe("q1");
    expect(nextQuestionId([{ id: "q1" }, { id: "q4" }])).toBe("q5");
    expect(nextQuestionId([{ id: "intro" }, { id: "q3" }])).toBe("q4");
  });

  it("round-trips every kind through the API shape", () => {
    const questions: ApiQuestion[] = [
      { id: "q1", type: "single_choice", prompt: "A ?", points: 1, options: ["x", "y"], correct: 1 },
      { id: "q2", type: "multiple_choice", prompt: "B ?", points: 2, options: ["x", "y", "z"], correct: [0, 2], explanation: "Car." },
      { id: "q3", type: "true_false", prompt: "C ?", points: 1, correct: false },
      { id: "q4", type: "short_answer", prompt: "D ?", points: 1, accepted: ["pile", "une pile"] },
      { id: "q5", type: "numeric", prompt: "E ?", points: 1.5, answer: 3.14, tolerance: 0.01 },
      { id: "q6", type: "ordering", prompt: "F ?", points: 1, items: [{ id: "a", text: "un" }, { id: "b", text: "deux" }] },
      { id: "q7", type: "code", prompt: "G ?", points: 4, language: "python", starter: "def f():\n    pass" },
      { id: "q8", type: "free_text", prompt: "H ?", points: 3 },
    ];
    expect(questions.map((q) => q.type)).toEqual(KINDS);
    for (const q of questions) {
      const back = toApi(fromApi(q));
      expect("question" in back && back.question).toEqual(q);
    }
  });

  it("keeps what cannot be sent on its field", () => {
    const q = { ...newQuestion("numeric", []), points: "deux", answer: "x", tolerance: "-1" };
    const r = toApi(q);
    expect("errors" in r && Object.keys(r.errors).sort()).toEqual(["answer", "points", "tolerance"]);
    const body = assessmentBody({ ...emptySettings(), title: "T", timeLimitMinutes: "1h" }, [q]);
    expect("errors" in body && Object.keys(body.errors).sort()).toEqual([`question:${q.key}:answer`, `question:${q.key}:points`, `question:${q.key}:tolerance`, "timeLimitMinutes"]);
  });

  it("builds the body with empty settings as null", () => {
    const q = { ...newQuestion("true_false", []), prompt: "Vrai ?" };
    const r = assessmentBody({ ...emptySettings(), title: "Quiz", type: "exam", timeLimitMinutes: "30" }, [q]);
    expect("body" in r && r.body).toMatchObject({ title: "Quiz", type: "exam", timeLimitMinutes: 30, maxAttempts: 1, description: null, courseId: null });
  });

  it("puts the API's message on the question it names", () => {
    const qs = [
      { id: "q1", key: "k1" },
      { id: "une-question-au-nom-vraiment-tres-long", key: "k2" },
    ];
    expect(questionErrorTarget("Question q1 : énoncé vide ou trop long.", qs)).toEqual({ key: "k1", message: "énoncé vide ou trop long." });
    expect(questionErrorTarget("Question une-question-au-nom-vraiment-t : barème entre 0 (exclu) et 1000.", qs).key).toBe("k2");
    expect(questionErrorTarget("Entre 1 et 200 questions.", qs)).toEqual({ key: null, message: "Entre 1 et 200 questions." });
  });

  it("round-trips a code question's tests, reference solution and limits", () => {
    const q: ApiQuestion = {
      id: "q1",
      type: "code",
      prompt: "Somme des pairs",
      points: 4,
      language: "python",
      starter: "def somme_paires(t):\n    pass\n",
      tests: [
        { name: "liste simple", call: "somme_paires([1, 2, 3, 4])", expected: "6", hidden: false, points: 1 },
        { name: "grand test", call: "somme_paires(list(range(10)))", expected: "20", hidden: true, points: 2.5 },
        { name: "programme", stdin: "3\n", expected: "9\n", hidden: false, points: 1 },
      ],
      reference: "def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n",
      timeLimitMs: 1000,
      memoryMb: 128,
      tolerance: 0.001,
    };
    const d = fromApi(q);
    expect(d.tests.map((t) => [t.name, t.call, t.stdin, t.expected, t.hidden, t.points])).toEqual([
      ["liste simple", "somme_paires([1, 2, 3, 4])", null, "6", false, "1"],
      ["grand test", "somme_paires(list(range(10)))", null, "20", true, "2,5"],
      ["programme", "", "3\n", "9\n", false, "1"],
    ]);
    expect(d.reference).toBe(q.reference);
    const back = toApi(d);
    expect("question" in back && back.question).toEqual(q);

    // A test added in the form: trimmed, French points; no reference and no test → neither is sent.
    const fresh = { ...newQuestion("code", []), prompt: "P" };
    const t = { ...newTest(fresh.tests), name: " vide ", call: " somme_paires([]) ", expected: " 0 ", points: "0,5", hidden: true };
    const sent = toApi({ ...fresh, tests: [t], reference: "def somme_paires(t):\n    return 0\n" });
    expect("question" in sent && sent.question).toMatchObject({
      tests: [{ name: "vide", call: "somme_paires([])", expected: "0", hidden: true, points: 0.5 }],
      reference: "def somme_paires(t):\n    return 0\n",
    });
    const bare = toApi({ ...fresh, reference: "   " });
    expect("question" in bare && bare.question).toEqual({ id: fresh.id, type: "code", prompt: "P", points: 4, language: "python", starter: null });
    expect(newTest([t]).name).toBe("Test 2");
  });

  it("refuses a code test with an empty name, call or expected value, or points that are not positive", () => {
    const fresh = newQuestion("code", []);
    const ok = { ...newTest([]), call: "f(1)", expected: "1" };
    const bad = { ...newTest([ok]), name: " ", call: "", expected: "  ", points: "0" };
    const r = toApi({ ...fresh, tests: [ok, bad] });
    expect("errors" in r && r.errors).toEqual({
      [`test:${bad.key}:name`]: "Donnez un nom au test.",
      [`test:${bad.key}:call`]: "Écrivez l'appel à tester, par exemple somme([1, 2]).",
      [`test:${bad.key}:expected`]: "Écrivez la valeur attendue, par exemple 3.",
      [`test:${bad.key}:points`]: "Un nombre positif est attendu (par exemple 1 ou 0,5).",
    });
    // A stdin test may expect an empty output.
    const stdin = { ...newTest([]), stdin: "", expected: "" };
    expect("question" in toApi({ ...fresh, tests: [stdin] })).toBe(true);
    const body = assessmentBody({ ...emptySettings(), title: "T" }, [{ ...fresh, tests: [bad] }]);
    expect("errors" in body && Object.keys(body.errors)).toContain(`question:${fresh.key}:test:${bad.key}:call`);
  });

  it("puts the API's refusals of a code question on its test or its reference solution", () => {
    const d = fromApi({
      id: "q2",
      type: "code",
      prompt: "P",
      points: 4,
      tests: [
        { name: "liste vide", call: "f([])", expected: "0" },
        { name: "un nom de test vraiment très très long pour être coupé", call: "f([1])", expected: "0" },
      ],
    });
    const [t1, t2] = d.tests;
    const qs = [d];
    expect(questionErrorTarget("Question q2 : la solution de référence échoue au test « liste vide » (attendu 0, obtenu 1).", qs)).toEqual({
      key: d.key,
      field: "reference",
      message: "la solution de référence échoue au test « liste vide » (attendu 0, obtenu 1).",
    });
    expect(questionErrorTarget("Question q2, test « liste vide » : valeur attendue illisible", qs)).toEqual({ key: d.key, field: `test:${t1!.key}:`, message: "valeur attendue illisible" });
    expect(questionErrorTarget("Question q2, test « un nom de test vraiment très très long pou » : x", qs).field).toBe(`test:${t2!.key}:`);
    expect(questionErrorTarget("Question q2, test « inconnu » : x", qs)).toEqual({ key: d.key, message: "Test « inconnu » : x" });
    expect(questionErrorTarget("Question q2 : temps par test entre 100 et 5000 ms.", qs)).toEqual({ key: d.key, message: "temps par test entre 100 et 5000 ms." });
  });

  it("moves within bounds", () => {
    expect(move([1, 2, 3], 0, 1)).toEqual([2, 1, 3]);
    expect(move([1, 2, 3], 2, -2)).toEqual([3, 1, 2]);
    expect(move([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
  });

  it("resolves the default help mode by type as the API does", () => {
    expect(effectiveHelpMode("default", "exam")).toBe("none");
    expect(effectiveHelpMode("default", "project")).toBe("explain");
    expect(effectiveHelpMode("default", "quiz")).toBe("hints");
    expect(effectiveHelpMode("explain", "exam")).toBe("explain");
  });

  it("shows answers by their text and counts per question", () => {
    const q: ApiQuestion = { id: "q1", type: "multiple_choice", prompt: "?", points: 2, options: ["a", "b", "c"], correct: [0, 2] };
    expect(answerText(q, [0, 2])).toBe("a ; c");
    expect(answerText(q, [])).toBeNull();
    const stats = questionStats(
      ["q1", "q2"],
      [
        { results: [{ questionId: "q1", answer: [0, 2], grade: { points: 2, maxPoints: 2, status: "correct" } }, { questionId: "q2", answer: "x", grade: { points: 0, maxPoints: 4, status: "pending_review" } }] },
        { results: [{ questionId: "q1", answer: null, grade: { points: 0, maxPoints: 2, status: "unanswered" } }, { questionId: "q2", answer: "y", grade: { points: 3, maxPoints: 4, status: "reviewed" } }] },
      ],
    );
    expect(stats[0]).toMatchObject({ answered: 1, graded: 2, correct: 1, points: 2 });
    expect(stats[1]).toMatchObject({ answered: 2, graded: 1, correct: 0, points: 3 });
  });

  it("names the assessment in the hub's activity and reads it back", () => {
    expect(assessmentOf({ sectionId: assessmentActivity(42) })).toBe(42);
    expect(assessmentOf({ courseId: 3, sectionId: "evaluation:42" })).toBeNull();
    expect(assessmentOf({ sectionId: "s1" })).toBeNull();
    expect(assessmentOf(null)).toBeNull();
  });
});
