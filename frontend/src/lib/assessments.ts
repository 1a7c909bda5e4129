// Assessments on the student's side: what the pages compute without the network —
// grouping the list, the countdown and its announcements, the help mode in plain French,
// and the autosave (debounce, retries, the local copy merged on reload).

export type Answers = Record<string, unknown>;

// ---------------------------------------------------------------------------------------
// The list

export type Group = "a_venir" | "en_cours" | "en_retard" | "terminees";

export const GROUP_TITLES: Record<Group, string> = {
  en_cours: "En cours",
  en_retard: "En retard",
  a_venir: "À venir",
  terminees: "Terminées",
};

export const GROUP_ORDER: Group[] = ["en_cours", "en_retard", "a_venir", "terminees"];

/** The fields of the student's list row (`GET /api/assessments`) the grouping reads. */
export type ListRow = {
  opensAt?: string | null;
  closesAt?: string | null;
  attemptsUsed?: number | null;
  maxAttempts: number;
  latestStatus?: string | null;
  latestDeadlineAt?: string | null;
};

const past = (iso: string | null | undefined, now: number) => !!iso && Date.parse(iso) <= now;

/**
 * - en cours: an attempt in progress, its deadline not passed;
 * - en retard: an attempt in progress past its deadline (to hand in now), or closed
 *   without anything handed in;
 * - terminées: handed in (submitted, graded or refused);
 * - à venir: everything still to do (open or not yet open).
 */
export function groupOf(row: ListRow, now: number): Group {
  if (row.latestStatus === "in_progress") return past(row.latestDeadlineAt, now) ? "en_retard" : "en_cours";
  if (row.latestStatus) return "terminees";
  if (past(row.closesAt, now)) return "en_retard";
  return "a_venir";
}

export function attemptsLeft(row: { attemptsUsed?: number | null; maxAttempts: number }): number {
  return Math.max(0, row.maxAttempts - (row.attemptsUsed ?? 0));
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n > 1 ? many : one}`;
}

/** "45 min", "1 h", "1 h 30". */
export function formatDuration(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${String(m).padStart(2, "0")}` : `${h} h`;
}

// ---------------------------------------------------------------------------------------
// ARIA's help mode

export const HELP_MODES: Record<string, { title: string; text: string }> = {
  explain: {
    title: "ARIA peut vous expliquer",
    text: "Pendant cette évaluation, ARIA répond comme d'habitude : il explique les notions et peut montrer des exemples.",
  },
  hints: {
    title: "ARIA donne seulement des indices",
    text: "Pendant cette évaluation, ARIA vous guide avec des indices et des questions, sans donner la solution ni de code.",
  },
  none: {
    title: "ARIA ne vous aidera pas sur cette évaluation",
    text: "Tant que votre tentative est en cours, ARIA refuse les questions qui portent sur cette évaluation. Il répond aux autres avec des indices.",
  },
};

// ---------------------------------------------------------------------------------------
// The countdown

/** "mm:ss" under an hour, "h:mm:ss" above; never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Spoken form: "12 minutes et 5 secondes", "1 heure et 2 minutes". */
export function spokenDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (h) parts.push(plural(h, "heure", "heures"));
  if (m) parts.push(plural(m, "minute", "minutes"));
  if (s && !h) parts.push(plural(s, "seconde", "secondes"));
  if (parts.length === 0) return "0 seconde";
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(", ")} et ${parts[parts.length - 1]}`;
}

/** Remaining times (ms) at which a screen reader is told the time left. */
export const ANNOUNCE_AT = [30 * 60_000, 15 * 60_000, 5 * 60_000, 60_000, 30_000];

/**
 * The announcement due when the time left went from `before` to `now` (ms), or null:
 * one per threshold crossed (the last one when several were crossed at once), and one
 * at zero.
 */
export function announcementBetween(before: number, now: number): string | null {
  if (before > 0 && now <= 0) return "Temps écoulé.";
  const crossed = ANNOUNCE_AT.filter((t) => before > t && now <= t);
  if (crossed.length === 0) return null;
  const t = crossed[crossed.length - 1]!;
  return `Il reste ${spokenDuration(t)}.`;
}

/**
 * The offset to add to the local clock to get the server's, from a response's `Date`
 * header (one-second precision: offsets under 2 s are ignored).
 */
export function clockOffset(dateHeader: string | null | undefined, localNow: number): number {
  if (!dateHeader) return 0;
  const server = Date.parse(dateHeader);
  if (Number.isNaN(server)) return 0;
  const offset = server - localNow;
  return Math.abs(offset) < 2000 ? 0 : offset;
}

// ---------------------------------------------------------------------------------------
// Answers

export function isAnswered(answer: unknown): boolean {
  if (answer === null || answer === undefined) return false;
  if (typeof answer === "string") return answer.trim().length > 0;
  if (Array.isArray(answer)) return answer.length > 0;
  return true;
}

export function countAnswered(answers: Answers, questionIds: string[]): number {
  return questionIds.filter((id) => isAnswered(answers[id])).length;
}

/** Drops empty answers (the API counts a missing question as unanswered). */
export function compactAnswers(answers: Answers): Answers {
  const out: Answers = {};
  for (const [k, v] of Object.entries(answers)) if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------
// The local copy: the answers as last typed, in sessionStorage, for when the network
// fails. `synced` says whether the server acknowledged exactly these answers.

export type LocalCopy = { answers: Answers; updatedAt: number; synced: boolean };

export function localKey(attemptId: number): string {
  return `nexus.tentative.${attemptId}.reponses`;
}

type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export function readLocal(store: KeyValueStore | undefined, attemptId: number): LocalCopy | null {
  try {
    const raw = store?.getItem(localKey(attemptId));
    if (!raw) return null;
    const parsed = JSON.parse(raw) as LocalCopy;
    if (!parsed || typeof parsed !== "object" || typeof parsed.answers !== "object" || parsed.answers === null) return null;
    return { answers: parsed.answers, updatedAt: Number(parsed.updatedAt) || 0, synced: !!parsed.synced };
  } catch {
    return null;
  }
}

export function writeLocal(store: KeyValueStore | undefined, attemptId: number, copy: LocalCopy): void {
  try {
    store?.setItem(localKey(attemptId), JSON.stringify(copy));
  } catch {
    // Storage full or disabled: the server copy is all there is.
  }
}

export function clearLocal(store: KeyValueStore | undefined, attemptId: number): void {
  try {
    store?.removeItem(localKey(attemptId));
  } catch {
    // Nothing to do.
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The answers to show after a reload: the server's draft, with what the local copy
 * holds that the server never acknowledged laid over it (per question: the local
 * answer wins). `needsSave` when the result differs from the server's, so the page
 * saves it again at once.
 */
export function mergeDraft(server: Answers | null | undefined, local: LocalCopy | null): { answers: Answers; needsSave: boolean } {
  const base: Answers = { ...(server ?? {}) };
  if (!local || local.synced) return { answers: base, needsSave: false };
  const merged: Answers = { ...base, ...local.answers };
  const needsSave = Object.keys(merged).some((k) => !sameJson(merged[k], base[k]));
  return { answers: merged, needsSave };
}

// ---------------------------------------------------------------------------------------
// Autosave: one save at a time, `delayMs` after the last change, at once on `flush()`;
// retried with a growing delay after a network failure, never after a final refusal
// (the attempt was handed in, or its time is over).

export type SaveOutcome = { ok: true; savedAt: string } | { ok: false; message: string; final: boolean };

export type SaveState =
  | { kind: "idle" }
  | { kind: "pending" }
  | { kind: "saving" }
  | { kind: "saved"; at: string }
  | { kind: "error"; message: string; final: boolean };

export type AutosaverOptions<T> = {
  save: (value: T) => Promise<SaveOutcome>;
  onState: (state: SaveState) => void;
  /** Called with the value the server acknowledged. */
  onSaved?: (value: T, savedAt: string) => void;
  delayMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
};

export class Autosaver<T> {
  private value: T | undefined;
  private dirty = false;
  private saving = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay: number;
  private readonly delayMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: AutosaverOptions<T>) {
    this.delayMs = options.delayMs ?? 1000;
    this.retryMs = options.retryMs ?? 3000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.retryDelay = this.retryMs;
  }

  /** A new value: saved `delayMs` after the last change. */
  change(value: T): void {
    if (this.stopped) return;
    this.value = value;
    this.dirty = true;
    this.retryDelay = this.retryMs;
    this.options.onState({ kind: "pending" });
    this.schedule(this.delayMs);
  }

  /** Saves now what is not saved yet; resolves when nothing is left to save (or it failed). */
  flush(): Promise<void> {
    if (this.stopped || (!this.dirty && !this.saving)) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.clearTimer();
    if (!this.saving) void this.run();
    return done;
  }

  get hasUnsaved(): boolean {
    return this.dirty || this.saving;
  }

  /** No more saves (the attempt was handed in, or the page left). */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.release();
  }

  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.saving) void this.run();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async run(): Promise<void> {
    if (this.stopped || !this.dirty) {
      this.release();
      return;
    }
    const value = this.value as T;
    this.dirty = false;
    this.saving = true;
    this.options.onState({ kind: "saving" });
    let outcome: SaveOutcome;
    try {
      outcome = await this.options.save(value);
    } catch {
      outcome = { ok: false, message: "Impossible de joindre le serveur.", final: false };
    }
    this.saving = false;
    if (this.stopped) return;
    if (outcome.ok) {
      this.retryDelay = this.retryMs;
      this.options.onSaved?.(value, outcome.savedAt);
      if (this.dirty) {
        // Changed while saving: the newer value goes next.
        if (this.waiters.length > 0) void this.run();
        else this.schedule(this.delayMs);
        this.options.onState({ kind: "pending" });
        return;
      }
      this.options.onState({ kind: "saved", at: outcome.savedAt });
      this.release();
      return;
    }
    this.options.onState({ kind: "error", message: outcome.message, final: outcome.final });
    if (outcome.final) {
      this.stopped = true;
      this.release();
      return;
    }
    this.dirty = true;
    this.release();
    this.schedule(this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.maxRetryMs);
  }
}
