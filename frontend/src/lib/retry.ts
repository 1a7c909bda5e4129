// Retries of reads that failed for a passing reason: the network (the request never got
// an answer) or a service briefly unavailable (502/503/504: a restart, nginx's "dependency
// down"). Never a 4xx: the API said no, asking again changes nothing. Writes are not
// retried here: they are not all idempotent (the pages that need it send a client id).

export type Attempt<T> = { data?: T; error?: unknown; response?: { status: number } };

export const RETRY_DELAYS_MS = [500, 1500, 4000];

export function isTransient(result: Attempt<unknown> | "rejected"): boolean {
  if (result === "rejected") return true;
  const status = result.response?.status;
  return result.data === undefined && (status === 502 || status === 503 || status === 504);
}

/** Runs `fetcher`; again after each delay while the failure is transient. */
export async function withRetry<T>(
  fetcher: () => Promise<Attempt<T>>,
  {
    delays = RETRY_DELAYS_MS,
    sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    alive = () => true,
  }: { delays?: number[]; sleep?: (ms: number) => Promise<void>; alive?: () => boolean } = {},
): Promise<Attempt<T>> {
  for (let i = 0; ; i++) {
    let result: Attempt<T> | "rejected";
    let thrown: unknown;
    try {
      result = await fetcher();
    } catch (e) {
      result = "rejected";
      thrown = e;
    }
    const last = i >= delays.length || !alive();
    if (!isTransient(result) || last) {
      if (result === "rejected") throw thrown;
      return result;
    }
    await sleep(delays[i]!);
  }
}
