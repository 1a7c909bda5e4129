// The teacher's assessment builder without the network: the questions as the form holds
// them (every field a string, every kind's fields kept when the kind changes), their
// conversion to and from the API's `Question`, numbers typed the French way, and the
// API's validation messages put back on the question they name.
import type { Schemas } from "@/lib/api/client";

export type ApiQuestion = Schemas["Question"];
export type Kind = ApiQuestion["type"];

export const KINDS: Kind[] = ["single_choice", "multiple_choice", "true_false", "short_answer", "numeric", "ordering", "code", "free_text"];

/** What each kind is, for the "Type de question" select (same words as the student's page). */
export const KIND_NAMES: Record<Kind, string> = {
  single_choice: "Choix unique",
  multiple_choice: "Choix multiples",
  true_false: "Vrai ou faux",
  short_answer: "Réponse courte",
  numeric: "Réponse numérique",
  ordering: "Remettre dans l'ordre",
  code: "Code Python",
  free_text: "Réponse rédigée",
};

/** Whether the API grades it at once (else it waits in the grading queue). */
export function autoGraded(kind: string): boolean {
  return kind !== "code" && kind !== "free_text";
}

/** The API's words (Rust enums in shared/database/src/assessments.rs). */
export type AssessmentKind = Schemas["AssessmentKind"];
export type HelpMode = Schemas["HelpMode"];
export type LatePolicy = Schemas["LatePolicy"];

export const ASSESSMENT_KINDS: { value: AssessmentKind; label: string }[] = [
  { value: "quiz", label: "Quiz" },
  { value: "tp", label: "TP" },
  { value: "exam", label: "Examen" },
  { value: "project", label: "Projet" },
];

/** ARIA's help modes as the teacher chooses them, explained (HelpMode::effective). */
export const HELP_MODE_CHOICES: { value: HelpMode; label: string; text: string }[] = [
  {
    value: "default",
    label: "Selon le type",
    text: "Examen : ARIA refuse d'aider sur l'évaluation. Projet : ARIA explique normalement. Quiz et TP : ARIA donne seulement des indices.",
  },
  { value: "explain", label: "Explications", text: "ARIA répond comme d'habitude : il explique les notions et peut montrer des exemples, du code compris." },
  { value: "hints", label: "Indices seulement", text: "ARIA guide l'élève par des indices et des questions, sans donner la solution ni de code." },
  { value: "none", label: "Aucune aide", text: "Tant qu'une tentative est en cours, ARIA refuse les questions qui portent sur cette évaluation." },
];

/** What `default` means for a type (as the API resolves it for students and ARIA). */
export function effectiveHelpMode(mode: HelpMode, type: AssessmentKind): HelpMode {
  if (mode === "explain" || (mode === "default" && type === "project")) return "explain";
  if (mode === "none" || (mode === "default" && type === "exam")) return "none";
  return "hints";
}

export const LATE_POLICY_CHOICES: { value: LatePolicy; label: string; text: string }[] = [
  { value: "flag", label: "Noter et signaler le retard", text: "Une copie rendue après le délai (30 s de grâce) est notée et marquée en retard." },
  { value: "refuse", label: "Ne pas noter", text: "Une copie rendue après le délai est gardée pour vous mais n'est pas notée ; l'élève en est averti." },
];

export type DraftItem = { id: string; text: string };

/**
 * One test of a code question as the form holds it. A function test has a `call`
 * (`somme([1, 2])`) and `expected` is a Python literal; a whole-program test (only made
 * through the API, kept as is) has `stdin` and `expected` is the output.
 */
export type DraftTest = {
  key: string;
  name: string;
  call: string;
  /** null: a function test; a string: a stdin/stdout test. */
  stdin: string | null;
  expected: string;
  hidden: boolean;
  points: string;
};

/** What the editor does not show but a save must keep (limits, float tolerance). */
export type CodeExtras = { timeLimitMs?: number | null; memoryMb?: number | null; tolerance?: number | null };

export type DraftQuestion = {
  /** React key, stable while the question is edited. */
  key: string;
  id: string;
  type: Kind;
  prompt: string;
  points: string;
  explanation: string;
  options: string[];
  /** Indexes of the right options (one for single choice). */
  correct: number[];
  truth: boolean;
  /** Accepted short answers, one per line. */
  accepted: string;
  answer: string;
  tolerance: string;
  items: DraftItem[];
  starter: string;
  /** Code questions: the tests, the reference solution (empty: none), the limits as loaded. */
  tests: DraftTest[];
  reference: string;
  codeExtras: CodeExtras;
};

let keys = 0;
function newKey(): string {
  keys += 1;
  return `k${keys}`;
}

/** The next free id of the form `q7`. */
export function nextQuestionId(questions: readonly { id: string }[]): string {
  let n = questions.length + 1;
  const taken = new Set(questions.map((q) => q.id));
  for (const q of questions) {
    const m = /^q(\d+)$/.exec(q.id);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  while (taken.has(`q${n}`)) n += 1;
  return `q${n}`;
}

/** The next free ordering item id (`e1`, `e2`…). */
export function nextItemId(items: readonly DraftItem[]): string {
  let n = items.length + 1;
  const taken = new Set(items.map((i) => i.id));
  while (taken.has(`e${n}`)) n += 1;
  return `e${n}`;
}

export function newQuestion(type: Kind, existing: readonly { id: string }[]): DraftQuestion {
  return {
    key: newKey(),
    id: nextQuestionId(existing),
    type,
    prompt: "",
    points: type === "code" || type === "free_text" ? "4" : "1",
    explanation: "",
    options: ["", ""],
    correct: [0],
    truth: true,
    accepted: "",
    answer: "",
    tolerance: "",
    items: [
      { id: "e1", text: "" },
      { id: "e2", text: "" },
    ],
    starter: "",
    tests: [],
    reference: "",
    codeExtras: {},
  };
}

/** A blank function test, named after its position ("Test 3"). */
export function newTest(existing: readonly DraftTest[]): DraftTest {
  return { key: newKey(), name: `Test ${existing.length + 1}`, call: "", stdin: null, expected: "", hidden: false, points: "1" };
}

/** "3,5" or "3.5" → 3.5; null when it is not a number. */
export function parseNumber(raw: string): number | null {
  const s = raw.trim().replace(/\s/g, "").replace(",", ".");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** A number as typed in French (decimal comma). */
export function showNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? "" : String(n).replace(".", ",");
}

export function fromApi(q: ApiQuestion): DraftQuestion {
  const base = newQuestion(q.type, []);
  const d: DraftQuestion = { ...base, id: q.id, prompt: q.prompt, points: showNumber(q.points), explanation: q.explanation ?? "" };
  switch (q.type) {
    case "single_choice":
      return { ...d, options: [...q.options], correct: [q.correct] };
    case "multiple_choice":
      return { ...d, options: [...q.options], correct: [...q.correct] };
    case "true_false":
      return { ...d, truth: q.correct };
    case "short_answer":
      return { ...d, accepted: q.accepted.join("\n") };
    case "numeric":
      return { ...d, answer: showNumber(q.answer), tolerance: q.tolerance ? showNumber(q.tolerance) : "" };
    case "ordering":
      return { ...d, items: q.items.map((i) => ({ ...i })) };
    case "code":
      return {
        ...d,
        starter: q.starter ?? "",
        reference: q.reference ?? "",
        tests: (q.tests ?? []).map((t) => ({
          key: newKey(),
          name: t.name,
          call: t.call ?? "",
          stdin: t.call === null || t.call === undefined ? (t.stdin ?? "") : null,
          expected: t.expected,
          hidden: t.hidden ?? false,
          points: showNumber(t.points ?? 1),
        })),
        codeExtras: {
          ...(q.timeLimitMs !== null && q.timeLimitMs !== undefined ? { timeLimitMs: q.timeLimitMs } : {}),
          ...(q.memoryMb !== null && q.memoryMb !== undefined ? { memoryMb: q.memoryMb } : {}),
          ...(q.tolerance !== null && q.tolerance !== undefined ? { tolerance: q.tolerance } : {}),
        },
      };
    default:
      return d;
  }
}

/** Per-field problems the browser can see before sending (numbers that are not numbers). */
export type DraftErrors = Record<string, string>;

/**
 * The question for the API, or the fields that cannot be sent (a number that is not
 * one). Everything else — empty prompt, too few options… — is the API's to say.
 */
export function toApi(d: DraftQuestion): { question: ApiQuestion } | { errors: DraftErrors } {
  const errors: DraftErrors = {};
  const points = parseNumber(d.points);
  if (points === null) errors.points = "Un nombre est attendu (par exemple 2 ou 1,5).";
  const common = {
    id: d.id,
    prompt: d.prompt,
    points: points ?? 0,
    ...(d.explanation.trim() ? { explanation: d.explanation } : {}),
  };
  let question: ApiQuestion;
  switch (d.type) {
    case "single_choice":
      question = { ...common, type: "single_choice", options: d.options, correct: d.correct[0] ?? 0 };
      break;
    case "multiple_choice":
      question = { ...common, type: "multiple_choice", options: d.options, correct: [...d.correct].sort((a, b) => a - b) };
      break;
    case "true_false":
      question = { ...common, type: "true_false", correct: d.truth };
      break;
    case "short_answer":
      question = {
        ...common,
        type: "short_answer",
        accepted: d.accepted
          .split("\n")
          .map((a) => a.trim())
          .filter(Boolean),
      };
      break;
    case "numeric": {
      const answer = parseNumber(d.answer);
      if (answer === null) errors.answer = "Un nombre est attendu (par exemple 3,14).";
      const tolerance = d.tolerance.trim() ? parseNumber(d.tolerance) : 0;
      if (tolerance === null || tolerance < 0) errors.tolerance = "Un nombre positif ou nul est attendu.";
      question = { ...common, type: "numeric", answer: answer ?? 0, ...(tolerance ? { tolerance } : {}) };
      break;
    }
    case "ordering":
      question = { ...common, type: "ordering", items: d.items };
      break;
    case "code": {
      const tests: Schemas["CodeTest"][] = [];
      for (const t of d.tests) {
        const at = `test:${t.key}:`;
        if (!t.name.trim()) errors[`${at}name`] = "Donnez un nom au test.";
        if (t.stdin === null && !t.call.trim()) errors[`${at}call`] = "Écrivez l'appel à tester, par exemple somme([1, 2]).";
        if (t.stdin === null && !t.expected.trim()) errors[`${at}expected`] = "Écrivez la valeur attendue, par exemple 3.";
        const p = parseNumber(t.points);
        if (p === null || p <= 0) errors[`${at}points`] = "Un nombre positif est attendu (par exemple 1 ou 0,5).";
        tests.push({
          name: t.name.trim(),
          ...(t.stdin === null ? { call: t.call.trim() } : { stdin: t.stdin }),
          expected: t.stdin === null ? t.expected.trim() : t.expected,
          hidden: t.hidden,
          points: p ?? 1,
        });
      }
      question = {
        ...common,
        type: "code",
        language: "python",
        starter: d.starter ? d.starter : null,
        ...(tests.length > 0 ? { tests } : {}),
        ...(d.reference.trim() ? { reference: d.reference } : {}),
        ...d.codeExtras,
      };
      break;
    }
    case "free_text":
      question = { ...common, type: "free_text" };
      break;
  }
  return Object.keys(errors).length > 0 ? { errors } : { question };
}

/** The settings part of the form. */
export type DraftSettings = {
  title: string;
  type: AssessmentKind;
  description: string;
  courseId: string;
  timeLimitMinutes: string;
  maxAttempts: string;
  latePolicy: LatePolicy;
  helpMode: HelpMode;
};

export function emptySettings(): DraftSettings {
  return { title: "", type: "quiz", description: "", courseId: "", timeLimitMinutes: "", maxAttempts: "1", latePolicy: "flag", helpMode: "default" };
}

export function settingsFromApi(a: Schemas["TeacherAssessment"]): DraftSettings {
  return {
    title: a.title,
    type: a.type,
    description: a.description ?? "",
    courseId: a.courseId ? String(a.courseId) : "",
    timeLimitMinutes: a.timeLimitMinutes ? String(a.timeLimitMinutes) : "",
    maxAttempts: String(a.maxAttempts),
    latePolicy: a.latePolicy,
    helpMode: a.helpMode,
  };
}

/** A whole number typed in a field; null for an empty field, NaN when not a whole number. */
export function parseWhole(raw: string): number | null {
  const s = raw.trim();
  if (!s) return null;
  return /^\d+$/.test(s) ? Number(s) : Number.NaN;
}

export type AssessmentBody = Schemas["AssessmentInput"];

/** The body of POST/PUT /api/assessments, or the fields to fix first (by field name, or `question:<key>:<field>`). */
export function assessmentBody(s: DraftSettings, questions: readonly DraftQuestion[]): { body: AssessmentBody } | { errors: DraftErrors } {
  const errors: DraftErrors = {};
  const time = parseWhole(s.timeLimitMinutes);
  if (Number.isNaN(time)) errors.timeLimitMinutes = "Un nombre entier de minutes est attendu.";
  const attempts = parseWhole(s.maxAttempts);
  if (Number.isNaN(attempts)) errors.maxAttempts = "Un nombre entier est attendu.";
  const out: ApiQuestion[] = [];
  for (const q of questions) {
    const r = toApi(q);
    if ("errors" in r) for (const [field, msg] of Object.entries(r.errors)) errors[`question:${q.key}:${field}`] = msg;
    else out.push(r.question);
  }
  if (Object.keys(errors).length > 0) return { errors };
  return {
    body: {
      title: s.title,
      type: s.type,
      description: s.description.trim() ? s.description : null,
      courseId: s.courseId ? Number(s.courseId) : null,
      timeLimitMinutes: time,
      maxAttempts: attempts,
      latePolicy: s.latePolicy,
      helpMode: s.helpMode,
      questions: out,
    },
  };
}

/**
 * Where an API message about `questions` belongs: "Question q2 : énoncé vide…" goes to
 * the question whose id is q2 (the API names it, cut at 30 or 50 characters), anything
 * else to the list as a whole.
 */
export function questionErrorTarget(
  message: string,
  questions: readonly { id: string; key: string; tests?: readonly DraftTest[] }[],
): { key: string | null; field?: string; message: string } {
  const named = (id: string) => questions.find((x) => x.id === id) ?? questions.find((x) => id.length >= 30 && x.id.startsWith(id));
  const testNamed = (q: { tests?: readonly DraftTest[] }, name: string) =>
    (q.tests ?? []).find((t) => t.name.trim() === name) ?? (q.tests ?? []).find((t) => name.length >= 40 && t.name.trim().startsWith(name));
  // "Question q2, test « liste vide » : …" (its shape, or an expected value that is no literal) goes on that test.
  const onTest = /^Question (.+?), test « (.+?) » : (.+)$/s.exec(message);
  if (onTest) {
    const q = named(onTest[1]!);
    const t = q && testNamed(q, onTest[2]!);
    if (q && t) return { key: q.key, field: `test:${t.key}:`, message: onTest[3]! };
    if (q) return { key: q.key, message: `Test « ${onTest[2]} » : ${onTest[3]}` };
  }
  const m = /^Question (.+?) : (.+)$/s.exec(message);
  if (m) {
    const q = named(m[1]!);
    // The reference solution's messages (it fails a test, too long, no test) go on it.
    if (q) return { key: q.key, ...(/solution de référence/.test(m[2]!) ? { field: "reference" } : {}), message: m[2]! };
  }
  return { key: null, message };
}

/** Moves an element of a list by `by` (−1 up, +1 down); the same list when it cannot. */
export function move<T>(list: readonly T[], index: number, by: number): T[] {
  const to = index + by;
  if (index < 0 || index >= list.length || to < 0 || to >= list.length) return [...list];
  const next = [...list];
  const [x] = next.splice(index, 1);
  next.splice(to, 0, x as T);
  return next;
}

/** `datetime-local` value (Europe/Paris as the browser shows it) ↔ ISO. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Per-question statistics over graded or submitted attempts' results. */
export type QuestionStats = { questionId: string; answered: number; graded: number; correct: number; points: number; maxPoints: number };

export function questionStats(questionIds: readonly string[], attempts: readonly { results: readonly Schemas["QuestionResult"][] }[]): QuestionStats[] {
  return questionIds.map((id) => {
    const s: QuestionStats = { questionId: id, answered: 0, graded: 0, correct: 0, points: 0, maxPoints: 0 };
    for (const a of attempts) {
      const r = a.results.find((x) => x.questionId === id);
      if (!r) continue;
      const g = r.grade;
      if (g?.status !== "unanswered" && r.answer !== null && r.answer !== undefined && r.answer !== "") s.answered += 1;
      if (g && g.status !== "pending_review") {
        s.graded += 1;
        s.points += g.points;
        s.maxPoints += g.maxPoints;
        if (g.status === "correct" || (g.status === "reviewed" && g.points >= g.maxPoints)) s.correct += 1;
      }
    }
    return s;
  });
}

/** An answer as text for the teacher (options and items by their text); null when none. */
export function answerText(q: ApiQuestion | undefined, value: unknown): string | null {
  if (value === null || value === undefined || (typeof value === "string" && value.trim() === "")) return null;
  if (Array.isArray(value) && value.length === 0) return null;
  if (!q) return typeof value === "string" ? value : JSON.stringify(value);
  switch (q.type) {
    case "single_choice":
      return typeof value === "number" ? (q.options[value] ?? String(value)) : String(value);
    case "multiple_choice":
      return Array.isArray(value) ? value.map((v) => q.options[v as number] ?? String(v)).join(" ; ") : String(value);
    case "true_false":
      return value === true ? "Vrai" : value === false ? "Faux" : String(value);
    case "ordering":
      return Array.isArray(value) ? value.map((id) => q.items.find((i) => i.id === id)?.text ?? String(id)).join(" → ") : String(value);
    case "numeric":
      return typeof value === "number" ? showNumber(value) : String(value);
    default:
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}
