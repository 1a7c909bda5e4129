// Server-only helpers of the /session/* route handlers: they talk to the API's auth
// endpoints and keep the refresh token in an httpOnly cookie the page never reads.
import { NextResponse, type NextRequest } from "next/server";

export const REFRESH_COOKIE = "nexus_refresh";
const COOKIE_PATH = "/session";

export function apiUrl(): string {
  return process.env.NEXUS_API_URL ?? "http://127.0.0.1:5000";
}

export type ApiError = { success: false; error: string; code: string; details?: unknown };

const GENERIC: ApiError = {
  success: false,
  error: "Le service est momentanément indisponible. Réessayez dans un instant.",
  code: "service_unavailable",
};

/** Refuse cross-site calls: a browser always sends Origin on a POST. */
export function sameOrigin(req: NextRequest): boolean {
  const origin = req.headers.get("origin");
  if (!origin) return false;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function forbiddenOrigin(): NextResponse {
  return NextResponse.json(
    { success: false, error: "Requête refusée : origine non autorisée.", code: "forbidden" },
    { status: 403 },
  );
}

/** POST a JSON body to the API; network failures become a French 503 body. */
export async function callApi(
  req: NextRequest,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  // The API limits sign-in attempts per client address. Behind a proxy that sets
  // X-Forwarded-For (nginx), NEXUS_TRUST_PROXY=1 passes it on; otherwise the header
  // came from the browser and would let anyone choose their address: not forwarded.
  const forwarded = req.headers.get("x-forwarded-for");
  if (forwarded && process.env.NEXUS_TRUST_PROXY === "1") headers["x-forwarded-for"] = forwarded;
  const requestId = req.headers.get("x-request-id");
  if (requestId) headers["x-request-id"] = requestId;
  const ua = req.headers.get("user-agent");
  if (ua) headers["user-agent"] = ua;
  try {
    const res = await fetch(`${apiUrl()}${path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      cache: "no-store",
    });
    const json = (await res.json().catch(() => GENERIC)) as Record<string, unknown>;
    return { status: res.status, json };
  } catch {
    return { status: 503, json: GENERIC };
  }
}

function secure(req: NextRequest): boolean {
  const proto = req.headers.get("x-forwarded-proto") ?? req.nextUrl.protocol.replace(":", "");
  return proto === "https";
}

export function setRefreshCookie(req: NextRequest, res: NextResponse, token: string): void {
  const days = Number(process.env.REFRESH_TOKEN_TTL_SECONDS ?? 2592000);
  res.cookies.set({
    name: REFRESH_COOKIE,
    value: token,
    httpOnly: true,
    sameSite: "strict",
    secure: secure(req),
    path: COOKIE_PATH,
    maxAge: days,
  });
}

export function clearRefreshCookie(req: NextRequest, res: NextResponse): void {
  res.cookies.set({
    name: REFRESH_COOKIE,
    value: "",
    httpOnly: true,
    sameSite: "strict",
    secure: secure(req),
    path: COOKIE_PATH,
    maxAge: 0,
  });
}

export function noStore(res: NextResponse): NextResponse {
  res.headers.set("cache-control", "no-store");
  return res;
}
