// Who is online in a class (the hub's presence on `class:{id}`), with what each student
// last reported working on. Pure functions: the hook in src/components/presence.tsx
// feeds them the hub's frames.

export type Activity = { courseId?: number; sectionId?: string };
/** userId → their last activity (null: online, nothing reported). */
export type Online = Readonly<Record<number, Activity | null>>;

function activityOf(v: unknown): Activity | null {
  if (!v || typeof v !== "object") return null;
  const a = v as { courseId?: unknown; sectionId?: unknown };
  return {
    ...(typeof a.courseId === "number" ? { courseId: a.courseId } : {}),
    ...(typeof a.sectionId === "string" ? { sectionId: a.sectionId } : {}),
  };
}

/** The list of a `subscribed` or `presence` frame (`presence` / `users`), without me. */
export function onlineFromList(list: unknown, me: number): Online {
  const out: Record<number, Activity | null> = {};
  if (!Array.isArray(list)) return out;
  for (const p of list) {
    if (!p || typeof p !== "object") continue;
    const { userId, activity } = p as { userId?: unknown; activity?: unknown };
    if (typeof userId === "number" && userId !== me) out[userId] = activityOf(activity);
  }
  return out;
}

/** A presence event's `data`: join, leave or activity. */
export function applyPresenceEvent(online: Online, data: unknown, me: number): Online {
  if (!data || typeof data !== "object") return online;
  const { kind, userId, activity } = data as { kind?: unknown; userId?: unknown; activity?: unknown };
  if (typeof userId !== "number" || userId === me) return online;
  if (kind === "leave") {
    if (!(userId in online)) return online;
    const next = { ...online };
    delete next[userId];
    return next;
  }
  if (kind === "join") return userId in online ? online : { ...online, [userId]: null };
  if (kind === "activity") return { ...online, [userId]: activityOf(activity) };
  return online;
}

/** How many of those online (other than `except`) last reported this course. */
export function onCourse(online: Online, courseId: number, except: readonly number[] = []): number {
  return Object.entries(online).filter(([id, a]) => !except.includes(Number(id)) && a?.courseId === courseId).length;
}

// The hub's `activity` frame carries a course id and a section id (a string of at most
// 100 characters) and nothing else; a student taking an assessment reports no course
// and the section id `evaluation:{assessmentId}`.
const ASSESSMENT_PREFIX = "evaluation:";

export function assessmentActivity(assessmentId: number): string {
  return `${ASSESSMENT_PREFIX}${assessmentId}`;
}

/** The assessment an activity says the student is taking, if any. */
export function assessmentOf(activity: Activity | null | undefined): number | null {
  const s = activity?.sectionId;
  if (activity?.courseId !== undefined || !s?.startsWith(ASSESSMENT_PREFIX)) return null;
  const id = Number(s.slice(ASSESSMENT_PREFIX.length));
  return Number.isInteger(id) && id > 0 ? id : null;
}
