// French formatting (Europe/Paris, 24 h, decimal comma).
import type { Schemas } from "@/lib/api/client";

const TZ = "Europe/Paris";

const dateTime = new Intl.DateTimeFormat("fr-FR", {
  weekday: "long",
  day: "numeric",
  month: "long",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: TZ,
});
const dateOnly = new Intl.DateTimeFormat("fr-FR", { weekday: "long", day: "numeric", month: "long", timeZone: TZ });
const shortDate = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "short", timeZone: TZ });
const number = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  return dateTime.format(new Date(iso)).replace(":", " h ");
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  return dateOnly.format(new Date(iso));
}

/** "3 déc." — chart axes. */
export function formatShortDate(iso: string | null | undefined): string {
  if (!iso) return "";
  return shortDate.format(new Date(iso));
}

export function formatNumber(n: number): string {
  return number.format(n);
}

/** "12,5/20" from raw points. */
export function gradeOn20(score: number | null | undefined, max: number | null | undefined): string | null {
  if (score == null || max == null || max <= 0) return null;
  return `${formatNumber(Math.round((score / max) * 200) / 10)}/20`;
}

export const ASSESSMENT_TYPES: Record<string, string> = {
  quiz: "Quiz",
  tp: "TP",
  ds: "Devoir surveillé (DS)",
  exam: "Examen",
  examen: "Examen",
  project: "Projet",
  projet: "Projet",
  homework: "Devoir",
};

/** Première or Terminale: a student's, a class's or a course's level. */
export type ClassLevel = Schemas["ClassLevel"];

export const CLASS_LEVELS: Record<ClassLevel, string> = { premiere: "Première", terminale: "Terminale" };

/** The level a form field holds, or null when it holds neither word. */
export function classLevelOf(value: FormDataEntryValue | null | undefined): ClassLevel | null {
  return value === "premiere" || value === "terminale" ? value : null;
}

export const ATTEMPT_STATUS: Record<string, string> = {
  in_progress: "En cours",
  submitted: "Rendu, en attente de correction",
  graded: "Corrigé",
};
