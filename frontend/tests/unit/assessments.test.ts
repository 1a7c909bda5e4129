import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  Autosaver,
  announcementBetween,
  clockOffset,
  compactAnswers,
  countAnswered,
  formatCountdown,
  formatDuration,
  groupOf,
  mergeDraft,
  readLocal,
  spokenDuration,
  writeLocal,
  type SaveOutcome,
  type SaveState,
} from "@/lib/assessments";

describe("countdown", () => {
  it("shows minutes and seconds, hours when needed, never a negative time", () => {
    expect(formatCountdown(29 * 60_000 + 5_000)).toBe("29:05");
    expect(formatCountdown(59_001)).toBe("01:00"); // rounded up: 0:00 only when it is over
    expect(formatCountdown(3_723_000)).toBe("1:02:03");
    expect(formatCountdown(0)).toBe("00:00");
    expect(formatCountdown(-5000)).toBe("00:00");
  });

  it("speaks durations in French", () => {
    expect(spokenDuration(5 * 60_000)).toBe("5 minutes");
    expect(spokenDuration(60_000)).toBe("1 minute");
    expect(spokenDuration(90_000)).toBe("1 minute et 30 secondes");
    expect(spokenDuration(3_720_000)).toBe("1 heure et 2 minutes");
    expect(spokenDuration(30_000)).toBe("30 secondes");
  });

  it("announces each threshold once, the last one when several were crossed, and zero", () => {
    expect(announcementBetween(5 * 60_000 + 500, 5 * 60_000 - 500)).toBe("Il reste 5 minutes.");
    expect(announcementBetween(5 * 60_000 - 500, 5 * 60_000 - 1500)).toBeNull();
    // A laptop asleep for ten minutes: one message, not three.
    expect(announcementBetween(16 * 60_000, 4 * 60_000)).toBe("Il reste 5 minutes.");
    expect(announcementBetween(31_000, 29_000)).toBe("Il reste 30 secondes.");
    expect(announcementBetween(500, -500)).toBe("Temps écoulé.");
    expect(announcementBetween(-500, -1500)).toBeNull();
  });

  it("takes the server's clock from the Date header when it is off by 2 s or more", () => {
    const local = Date.parse("2026-12-02T14:00:00Z");
    expect(clockOffset("Wed, 02 Dec 2026 14:00:01 GMT", local)).toBe(0);
    expect(clockOffset("Wed, 02 Dec 2026 14:01:00 GMT", local)).toBe(60_000);
    expect(clockOffset("not a date", local)).toBe(0);
    expect(clockOffset(null, local)).toBe(0);
  });

  it("formats time limits", () => {
    expect(formatDuration(45)).toBe("45 min");
    expect(formatDuration(60)).toBe("1 h");
    expect(formatDuration(90)).toBe("1 h 30");
  });
});

describe("the list", () => {
  const now = Date.parse("2026-12-02T14:00:00Z");
  const row = { maxAttempts: 1, attemptsUsed: 0 };
  it("puts each assessment in one group", () => {
    expect(groupOf({ ...row, opensAt: "2026-12-03T08:00:00Z" }, now)).toBe("a_venir");
    expect(groupOf({ ...row, opensAt: "2026-12-01T08:00:00Z", closesAt: "2026-12-05T08:00:00Z" }, now)).toBe("a_venir");
    expect(groupOf({ ...row, closesAt: "2026-12-01T08:00:00Z" }, now)).toBe("en_retard");
    expect(groupOf({ ...row, latestStatus: "in_progress", latestDeadlineAt: "2026-12-02T14:30:00Z" }, now)).toBe("en_cours");
    expect(groupOf({ ...row, latestStatus: "in_progress", latestDeadlineAt: "2026-12-02T13:30:00Z" }, now)).toBe("en_retard");
    expect(groupOf({ ...row, latestStatus: "in_progress" }, now)).toBe("en_cours");
    expect(groupOf({ ...row, latestStatus: "graded", closesAt: "2026-12-01T08:00:00Z" }, now)).toBe("terminees");
    expect(groupOf({ ...row, latestStatus: "submitted" }, now)).toBe("terminees");
  });
});

describe("answers", () => {
  it("counts what is answered and drops what is empty", () => {
    const answers = { a: 0, b: [], c: "  ", d: false, e: null, f: "x", g: [1] };
    expect(countAnswered(answers, ["a", "b", "c", "d", "e", "f", "g", "h"])).toBe(4);
    expect(compactAnswers(answers)).toEqual({ a: 0, c: "  ", d: false, f: "x", g: [1] });
  });
});

describe("the local copy", () => {
  it("lays what the server never acknowledged over the server's draft", () => {
    const server = { q1: 1, code: "def f():\n    pass" };
    expect(mergeDraft(server, null)).toEqual({ answers: server, needsSave: false });
    expect(mergeDraft(server, { answers: { q1: 0 }, updatedAt: 1, synced: true })).toEqual({ answers: server, needsSave: false });
    expect(mergeDraft(server, { answers: { code: "def f():\n    return 1", q2: true }, updatedAt: 2, synced: false })).toEqual({
      answers: { q1: 1, code: "def f():\n    return 1", q2: true },
      needsSave: true,
    });
    // Nothing new locally: no save needed.
    expect(mergeDraft(server, { answers: { q1: 1 }, updatedAt: 3, synced: false }).needsSave).toBe(false);
    // No server draft (a network failure before the first save).
    expect(mergeDraft(undefined, { answers: { q1: 1 }, updatedAt: 3, synced: false })).toEqual({ answers: { q1: 1 }, needsSave: true });
  });

  it("survives a broken or missing store", () => {
    const map = new Map<string, string>();
    const store = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    writeLocal(store, 7, { answers: { q1: 2 }, updatedAt: 5, synced: false });
    expect(readLocal(store, 7)).toEqual({ answers: { q1: 2 }, updatedAt: 5, synced: false });
    map.set("nexus.tentative.8.reponses", "{not json");
    expect(readLocal(store, 8)).toBeNull();
    expect(readLocal(undefined, 7)).toBeNull();
    const full = { ...store, setItem: () => { throw new Error("QuotaExceededError"); } };
    expect(() => writeLocal(full, 7, { answers: {}, updatedAt: 0, synced: true })).not.toThrow();
  });
});

describe("Autosaver", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(outcomes: SaveOutcome[]) {
    const saved: unknown[] = [];
    const states: SaveState["kind"][] = [];
    const acked: unknown[] = [];
    const saver = new Autosaver<Record<string, unknown>>({
      save: async (v) => {
        saved.push(v);
        return outcomes.shift() ?? { ok: true, savedAt: "2026-12-02T14:02:00Z" };
      },
      onState: (s) => states.push(s.kind),
      onSaved: (v) => acked.push(v),
      delayMs: 1000,
      retryMs: 3000,
    });
    return { saver, saved, states, acked };
  }

  it("saves once, a second after the last change", async () => {
    const { saver, saved, states } = setup([]);
    saver.change({ q1: 1 });
    await vi.advanceTimersByTimeAsync(500);
    saver.change({ q1: 2 });
    await vi.advanceTimersByTimeAsync(900);
    expect(saved).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(saved).toEqual([{ q1: 2 }]);
    expect(states.at(-1)).toBe("saved");
    expect(saver.hasUnsaved).toBe(false);
  });

  it("flush saves at once (leaving the page, a blur)", async () => {
    const { saver, saved } = setup([]);
    saver.change({ q1: 1 });
    await saver.flush();
    expect(saved).toEqual([{ q1: 1 }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(saved).toHaveLength(1);
  });

  it("retries after a network failure with a growing delay, then succeeds", async () => {
    const { saver, saved, states, acked } = setup([
      { ok: false, message: "Impossible de joindre le serveur.", final: false },
      { ok: false, message: "Impossible de joindre le serveur.", final: false },
    ]);
    saver.change({ q1: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(saved).toHaveLength(1);
    expect(states.at(-1)).toBe("error");
    await vi.advanceTimersByTimeAsync(3000);
    expect(saved).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5999);
    expect(saved).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(saved).toHaveLength(3);
    expect(states.at(-1)).toBe("saved");
    expect(acked).toEqual([{ q1: 1 }]);
  });

  it("stops after a final refusal (handed in, time over)", async () => {
    const { saver, saved, states } = setup([{ ok: false, message: "Cette tentative a déjà été rendue.", final: true }]);
    saver.change({ q1: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    saver.change({ q1: 2 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(saved).toHaveLength(1);
    expect(states.at(-1)).toBe("error");
  });

  it("saves a change made during a save right after it, never two at once", async () => {
    let release: (o: SaveOutcome) => void = () => {};
    const saved: unknown[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const saver = new Autosaver<Record<string, unknown>>({
      save: (v) => {
        saved.push(v);
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        return new Promise((resolve) => {
          release = (o) => {
            concurrent--;
            resolve(o);
          };
        });
      },
      onState: () => {},
      delayMs: 1000,
    });
    saver.change({ q1: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    saver.change({ q1: 2 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(saved).toHaveLength(1);
    release({ ok: true, savedAt: "t1" });
    await vi.advanceTimersByTimeAsync(1000);
    expect(saved).toEqual([{ q1: 1 }, { q1: 2 }]);
    release({ ok: true, savedAt: "t2" });
    await vi.advanceTimersByTimeAsync(0);
    expect(maxConcurrent).toBe(1);
    expect(saver.hasUnsaved).toBe(false);
  });
});
