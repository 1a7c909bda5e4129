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

/** `GET /api/classes/{id}/progress`: the class's courses, and per student one percentage per course in the same order. */
export type ClassProgress = {
  courses: readonly { id: number; title: string }[];
  students: readonly { id: number; lastAccessed?: string | null; progress: readonly number[] }[];
};

/** The class's progress as a students × courses grid (courses by title), with each student's last activity. */
export function progressGrid(table: ClassProgress | null | undefined): {
  courses: { id: number; title: string }[];
  cell: (studentId: number, courseId: number) => number | null;
  lastActivity: (studentId: number) => string | null;
} {
  const courses = table?.courses ?? [];
  const column = new Map(courses.map((c, i) => [c.id, i]));
  const students = new Map((table?.students ?? []).map((s) => [s.id, s]));
  return {
    courses: [...courses].sort((a, b) => a.title.localeCompare(b.title, "fr")),
    cell: (s, c) => {
      const i = column.get(c);
      return i === undefined ? null : (students.get(s)?.progress[i] ?? null);
    },
    lastActivity: (s) => students.get(s)?.lastAccessed ?? null,
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
