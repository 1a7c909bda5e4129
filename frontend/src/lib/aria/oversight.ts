// What the adults around a student do with ARIA (teachers of the student, admins):
// moderation flags, the student's sessions, a class's use and daily budgets. These
// routes are ARIA's (services/aria/src/sessions.rs, budget.rs), not in openapi.json:
// typed here by hand, reached on the same origin through the /api/aria/* rewrite.
import { call } from "./client";
import type { AriaSessionSummary } from "./types";

/** A moderation flag (`aria_flags`): a question or an answer the rules or the provider caught. */
export type AriaFlag = {
  id: number;
  userId: number;
  firstName: string;
  lastName: string;
  sessionId: string;
  /** `question` (the student's) or `answer` (ARIA's, held back). */
  direction: "question" | "answer" | (string & {});
  /** Local rules: `self_harm`, `harassment`, `violence`, `personal_data`; else the provider's category. */
  category: string;
  /** `local` or `provider`. */
  source: string;
  /** The flagged text, 500 characters at most (kept even when the session is deleted). */
  excerpt: string;
  reviewedAt: string | null;
  createdAt: string;
};

export type AriaFlagList = { success: true; flags: AriaFlag[] };
export type AriaStudentSessions = { success: true; studentId: number; sessions: AriaSessionSummary[] };

/** Today's use of one student of the class against their own budget. */
export type AriaStudentUsage = {
  studentId: number;
  firstName: string;
  lastName: string;
  /** The student's daily budget (theirs if a teacher set one, else the default). */
  dailyTokens: number;
  usedTokens: number;
  requests: number;
  costEuros: number;
};

export type AriaClassUsage = {
  success: true;
  classId: number;
  /** The class's daily budget, shared by its students. */
  dailyTokens: number;
  usedTokens: number;
  costEuros: number;
  students: AriaStudentUsage[];
};

/** The ceiling ARIA accepts for a daily budget (budget.rs `valid`). */
export const MAX_DAILY_TOKENS = 100_000_000;

const id = (n: number) => encodeURIComponent(String(n));

export const oversight = {
  /** Teachers: their students' flags; admins: all. `open` (not reviewed) or `all`, newest first, 200 at most. */
  flags: (status: "open" | "all" = "open") => call<AriaFlagList>("GET", `/api/aria/flags?status=${status}&limit=100`),
  /** Marks a flag as seen (no body). */
  review: (flagId: number) => call<{ success: true }>("POST", `/api/aria/flags/${id(flagId)}/review`),
  /** A student's sessions (their teacher, an admin); read one with `aria.session(id)`. */
  studentSessions: (studentId: number) => call<AriaStudentSessions>("GET", `/api/aria/students/${id(studentId)}/sessions?limit=100`),
  classUsage: (classId: number) => call<AriaClassUsage>("GET", `/api/aria/classes/${id(classId)}/usage`),
  setClassBudget: (classId: number, dailyTokens: number) =>
    call<{ success: true; classId: number; dailyTokens: number }>("PUT", `/api/aria/classes/${id(classId)}/budget`, { dailyTokens }),
  setStudentBudget: (studentId: number, dailyTokens: number) =>
    call<{ success: true; studentId: number; dailyTokens: number }>("PUT", `/api/aria/students/${id(studentId)}/budget`, { dailyTokens }),
};

/** French labels of the flags' categories (local rules, and the usual provider ones). */
export const FLAG_CATEGORIES: Record<string, string> = {
  self_harm: "Détresse, idées suicidaires",
  "self-harm": "Détresse, idées suicidaires",
  harassment: "Insultes, harcèlement",
  hate: "Propos haineux",
  violence: "Violence",
  sexual: "Contenu sexuel",
  personal_data: "Données personnelles (téléphone, adresse e-mail)",
  provider: "Signalé par le service de modération",
  flagged: "Signalé par le service de modération",
};

export function flagCategory(category: string): string {
  return FLAG_CATEGORIES[category] ?? FLAG_CATEGORIES[category.split("/")[0] ?? ""] ?? category;
}

/** Parses a number of tokens typed in French ("12 000", "12000"); null when it is not a whole number. */
export function parseTokens(text: string): number | null {
  const compact = text.replace(/[\s\u00a0\u202f.]/g, "");
  if (!/^\d+$/.test(compact)) return null;
  const n = Number(compact);
  return Number.isSafeInteger(n) ? n : null;
}

/** "0,0123 €" — ARIA's costs are small: up to four decimals. */
export function formatEuros(value: number): string {
  return new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", minimumFractionDigits: 2, maximumFractionDigits: 4 }).format(value);
}

/** "12 000" */
export function formatTokens(value: number): string {
  return new Intl.NumberFormat("fr-FR").format(value);
}

/**
 * What ARIA tells every student about who reads their conversations (OVERSIGHT_NOTICE in
 * services/aria/src/tutor.rs, shown under the student's ARIA form): quoted as is on the
 * teacher's page, so both sides read the same sentence.
 */
export const STUDENT_NOTICE = "Tes enseignants peuvent lire tes conversations avec ARIA, et tes parents en voient un résumé.";
