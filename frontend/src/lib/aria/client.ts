// Calls to ARIA from the browser: same origin (/api/aria/*), the in-memory access token
// and its silent refresh (TokenManager.fetch), French error messages as ARIA sends them.
import { GENERIC_ERROR, NETWORK_ERROR, tokens } from "@/lib/api/client";
import { readSse } from "./sse";
import type { AriaChatRequest, AriaErrorBody, AriaFrame, AriaSession, AriaSessionList } from "./types";

export type AriaResult<T> = { data: T; error?: undefined } | { data?: undefined; error: AriaErrorBody & { status: number; retryAfter?: number } };

type FetchLike = (request: Request) => Promise<Response>;
const defaultFetch: FetchLike = (request) => tokens.fetch(request);

function origin(): string {
  return typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin;
}

async function errorOf(res: Response): Promise<AriaErrorBody & { status: number; retryAfter?: number }> {
  const body = (await res.json().catch(() => null)) as Partial<AriaErrorBody> | null;
  const retry = Number(res.headers.get("retry-after"));
  return {
    status: res.status,
    error: typeof body?.error === "string" && body.error ? body.error : GENERIC_ERROR,
    code: typeof body?.code === "string" ? body.code : "internal_error",
    ...(body?.details !== undefined ? { details: body.details } : {}),
    ...(Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}),
  };
}

const networkError = () => ({ status: 0, error: NETWORK_ERROR, code: "network_error" });

export async function call<T>(method: string, path: string, body?: unknown, fetchImpl: FetchLike = defaultFetch): Promise<AriaResult<T>> {
  try {
    const res = await fetchImpl(
      new Request(`${origin()}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      }),
    );
    if (!res.ok) return { error: await errorOf(res) };
    return { data: (await res.json()) as T };
  } catch {
    return { error: networkError() };
  }
}

export const aria = {
  sessions: () => call<AriaSessionList>("GET", "/api/aria/sessions?limit=100"),
  session: (id: string) => call<AriaSession>("GET", `/api/aria/sessions/${encodeURIComponent(id)}`),
  rename: (id: string, title: string) => call<{ success: true }>("PATCH", `/api/aria/sessions/${encodeURIComponent(id)}`, { title }),
  remove: (id: string) => call<{ success: true }>("DELETE", `/api/aria/sessions/${encodeURIComponent(id)}`),
  rate: (messageId: number, helpful: boolean, comment?: string) =>
    call<{ success: true }>("POST", `/api/aria/messages/${messageId}/rating`, comment ? { helpful, comment } : { helpful }),
};

export type StreamOutcome =
  /** The stream ran to its end (its frames were given to `onFrame`). */
  | { ok: true }
  /** Refused before it started (429, 422, 404…) or unreachable: ARIA's French message. */
  | { ok: false; error: AriaErrorBody & { status: number; retryAfter?: number } }
  /** Stopped by the caller (the "Arrêter" button). */
  | { ok: false; aborted: true };

/**
 * Asks ARIA and streams its answer: `POST /api/aria/chat/stream` (server-sent events),
 * each frame to `onFrame` as soon as it arrives. Aborting `signal` stops reading; ARIA
 * still finishes the answer and stores it in the session.
 */
export async function askAria(
  body: AriaChatRequest,
  onFrame: (frame: AriaFrame) => void,
  signal?: AbortSignal,
  fetchImpl: FetchLike = defaultFetch,
): Promise<StreamOutcome> {
  let res: Response;
  try {
    res = await fetchImpl(
      new Request(`${origin()}/api/aria/chat/stream`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify(body),
        cache: "no-store",
        signal,
      }),
    );
  } catch {
    return signal?.aborted ? { ok: false, aborted: true } : { ok: false, error: networkError() };
  }
  if (!res.ok || !res.body) return { ok: false, error: await errorOf(res) };
  try {
    for await (const event of readSse(res.body, signal)) {
      let frame: AriaFrame;
      try {
        frame = JSON.parse(event.data) as AriaFrame;
      } catch {
        continue;
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") onFrame(frame);
    }
  } catch {
    if (!signal?.aborted) return { ok: false, error: networkError() };
  }
  return signal?.aborted ? { ok: false, aborted: true } : { ok: true };
}
