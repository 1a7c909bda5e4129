// POST /api/aria/chat/stream — ARIA's server-sent events, piped to the browser as they
// come. Every other /api/aria/* path is a plain rewrite (next.config.ts); this one is a
// route handler (which Next matches before its rewrites) because a rewritten response
// goes through `next start`'s gzip middleware, which holds text/event-stream back until
// it has a full buffer or the end: the answer would appear all at once. Here the
// response says `Cache-Control: no-transform`, which that middleware honours, and the
// upstream body is returned as a stream (docs/FRONTEND.md, "ARIA in the web app").
import type { NextRequest } from "next/server";

export const dynamic = "force-dynamic";

function ariaUrl(): string {
  // At run time if given, else the URL the build's rewrites use.
  return process.env.NEXUS_ARIA_URL ?? process.env.NEXUS_ARIA_URL_AT_BUILD ?? "http://127.0.0.1:5001";
}

const UNAVAILABLE = {
  success: false,
  error: "ARIA est momentanément indisponible. Réessaie dans un instant.",
  code: "service_unavailable",
};

// What is passed on, each way: the token, the body's type, the request id.
const REQUEST_HEADERS = ["authorization", "content-type", "accept", "x-request-id", "user-agent"];
const RESPONSE_HEADERS = ["content-type", "retry-after", "x-request-id"];

export async function POST(req: NextRequest): Promise<Response> {
  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = req.headers.get(name);
    if (value) headers.set(name, value);
  }
  if (process.env.NEXUS_TRUST_PROXY === "1") {
    const forwarded = req.headers.get("x-forwarded-for");
    if (forwarded) headers.set("x-forwarded-for", forwarded);
  }
  let upstream: Response;
  try {
    upstream = await fetch(`${ariaUrl()}/api/aria/chat/stream`, {
      method: "POST",
      headers,
      body: await req.arrayBuffer(),
      cache: "no-store",
      // The browser leaving (or "Arrêter") closes the connection to ARIA; ARIA still
      // finishes and stores the answer.
      signal: req.signal,
    });
  } catch {
    return Response.json(UNAVAILABLE, { status: 503, headers: { "cache-control": "no-store" } });
  }
  const out = new Headers({ "cache-control": "no-cache, no-store, no-transform", "x-accel-buffering": "no" });
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) out.set(name, value);
  }
  return new Response(upstream.body, { status: upstream.status, headers: out });
}
