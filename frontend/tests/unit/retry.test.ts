import { describe, expect, it } from "vitest";
import { isTransient, withRetry, type Attempt } from "@/lib/retry";

const noSleep = async () => {};

function sequence<T>(...steps: (Attempt<T> | Error)[]) {
  let calls = 0;
  const fetcher = async () => {
    const step = steps[Math.min(calls++, steps.length - 1)]!;
    if (step instanceof Error) throw step;
    return step;
  };
  return { fetcher, calls: () => calls };
}

describe("isTransient", () => {
  it("retries the network and an unavailable service, never a refusal", () => {
    expect(isTransient("rejected")).toBe(true);
    expect(isTransient({ error: {}, response: { status: 503 } })).toBe(true);
    expect(isTransient({ error: {}, response: { status: 502 } })).toBe(true);
    expect(isTransient({ error: {}, response: { status: 404 } })).toBe(false);
    expect(isTransient({ error: {}, response: { status: 429 } })).toBe(false);
    expect(isTransient({ data: 1, response: { status: 200 } })).toBe(false);
  });
});

describe("withRetry", () => {
  it("returns the first answer after transient failures", async () => {
    const s = sequence<number>(new TypeError("fetch failed"), { error: {}, response: { status: 503 } }, { data: 42, response: { status: 200 } });
    const slept: number[] = [];
    const result = await withRetry(s.fetcher, { sleep: async (ms) => void slept.push(ms) });
    expect(result.data).toBe(42);
    expect(s.calls()).toBe(3);
    expect(slept).toEqual([500, 1500]);
  });
  it("does not ask again after a 4xx", async () => {
    const s = sequence<number>({ error: { error: "Introuvable." }, response: { status: 404 } }, { data: 1 });
    const result = await withRetry(s.fetcher, { sleep: noSleep });
    expect(result.error).toEqual({ error: "Introuvable." });
    expect(s.calls()).toBe(1);
  });
  it("gives up after the last delay with the last failure", async () => {
    const s = sequence<number>({ error: { error: "Service indisponible." }, response: { status: 503 } });
    const result = await withRetry(s.fetcher, { sleep: noSleep, delays: [1, 2] });
    expect(result.error).toEqual({ error: "Service indisponible." });
    expect(s.calls()).toBe(3);
  });
  it("rethrows a network failure that lasts", async () => {
    const s = sequence<number>(new TypeError("fetch failed"));
    await expect(withRetry(s.fetcher, { sleep: noSleep, delays: [1] })).rejects.toThrow("fetch failed");
    expect(s.calls()).toBe(2);
  });
  it("stops when the page no longer wants the answer", async () => {
    const s = sequence<number>(new TypeError("fetch failed"), { data: 1 });
    await expect(withRetry(s.fetcher, { sleep: noSleep, alive: () => false })).rejects.toThrow();
    expect(s.calls()).toBe(1);
  });
});
