// Helpers of the teacher's pages (pure: unit-tested).

/** The dashboard's at-risk reasons, in French. */
export const AT_RISK_REASONS: Record<string, string> = {
  low_progress: "progression faible",
  low_scores: "résultats faibles",
  inactive: "inactif",
};

/** "2026-2027" from September on, else "2025-2026" (Europe/Paris is close enough). */
export function currentSchoolYear(now: Date = new Date()): string {
  const y = now.getFullYear();
  return now.getMonth() >= 7 ? `${y}-${y + 1}` : `${y - 1}-${y}`;
}

export type ProgressRow = {
  studentId: number;
  studentName: string;
  courseId: number;
  courseTitle: string;
  progressPercentage: number;
  lastAccessed?: string | null;
};

/** The progress rows as a students × courses grid, with each student's last activity. */
export function progressGrid(rows: readonly ProgressRow[]): {
  courses: { id: number; title: string }[];
  cell: (studentId: number, courseId: number) => number | null;
  lastActivity: (studentId: number) => string | null;
} {
  const courses = new Map<number, string>();
  const cells = new Map<string, number>();
  const last = new Map<number, string>();
  for (const r of rows) {
    courses.set(r.courseId, r.courseTitle);
    cells.set(`${r.studentId}:${r.courseId}`, r.progressPercentage);
    if (r.lastAccessed && (!last.has(r.studentId) || r.lastAccessed > last.get(r.studentId)!)) last.set(r.studentId, r.lastAccessed);
  }
  return {
    courses: [...courses].map(([id, title]) => ({ id, title })).sort((a, b) => a.title.localeCompare(b.title, "fr")),
    cell: (s, c) => cells.get(`${s}:${c}`) ?? null,
    lastActivity: (s) => last.get(s) ?? null,
  };
}

/** Tailwind classes of a heatmap cell (text contrast ≥ 4.5:1 on each shade). */
export function heatClass(percent: number): string {
  if (percent >= 100) return "bg-emerald-700 text-white";
  if (percent >= 67) return "bg-emerald-500 text-slate-950";
  if (percent >= 34) return "bg-emerald-300 text-slate-950";
  if (percent > 0) return "bg-emerald-100 text-slate-950";
  return "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200";
}
