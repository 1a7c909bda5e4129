// ARIA's oversight summary of one student (docs/ARIA.md "Oversight"): counts, never the
// conversations. ARIA is not in the API's OpenAPI document: typed here by hand, reached
// on the same origin through the /api/aria/* rewrite with the signed-in user's token.
import { errorMessage, tokens } from "@/lib/api/client";

export type AriaSummary = {
  success: true;
  studentId: number;
  /** Sessions ever opened. */
  sessions: number;
  questionsLast7Days: number;
  questionsLast30Days: number;
  lastActivity: string | null;
  /** The five courses most used as sources in 30 days. */
  topCourses: { courseTitle: string; answers: number }[];
  flagsLast30Days: number;
};

function isSummary(v: unknown): v is AriaSummary {
  if (!v || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.sessions === "number" &&
    typeof o.questionsLast7Days === "number" &&
    typeof o.questionsLast30Days === "number" &&
    (o.lastActivity === null || typeof o.lastActivity === "string") &&
    Array.isArray(o.topCourses) &&
    typeof o.flagsLast30Days === "number"
  );
}

/** GET /api/aria/students/{id}/summary: `{ data }` or `{ error }` (the French message). */
export async function fetchAriaSummary(studentId: number): Promise<{ data?: AriaSummary; error?: { error: string } }> {
  try {
    const url = `${window.location.origin}/api/aria/students/${encodeURIComponent(String(studentId))}/summary`;
    const res = await tokens.fetch(new Request(url, { headers: { accept: "application/json" } }));
    const json: unknown = await res.json().catch(() => null);
    if (res.ok && isSummary(json)) return { data: json };
    return { error: { error: errorMessage(json) } };
  } catch (e) {
    return { error: { error: errorMessage(e) } };
  }
}
