// POST /session/refresh → the API's /api/auth/refresh with the cookie's refresh token;
// the rotated refresh token replaces the cookie, the page gets the access token and
// who it belongs to.
import { NextResponse, type NextRequest } from "next/server";
import {
  REFRESH_COOKIE,
  apiUrl,
  callApi,
  clearRefreshCookie,
  forbiddenOrigin,
  noStore,
  sameOrigin,
  setRefreshCookie,
} from "@/lib/server/session";

export async function POST(req: NextRequest) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const token = req.cookies.get(REFRESH_COOKIE)?.value;
  if (!token) {
    return noStore(
      NextResponse.json(
        { success: false, error: "Vous n'êtes pas connecté.", code: "missing_token" },
        { status: 401 },
      ),
    );
  }
  const { status, json } = await callApi(req, "/api/auth/refresh", { refreshToken: token });
  if (status !== 200 || typeof json.refreshToken !== "string" || typeof json.accessToken !== "string") {
    const res = NextResponse.json(json, { status });
    // A refused refresh token is dead: forget it. (A 503 keeps it for a retry.)
    if (status === 401) clearRefreshCookie(req, res);
    return noStore(res);
  }
  let user: unknown = null;
  try {
    const me = await fetch(`${apiUrl()}/api/auth/me`, {
      headers: { authorization: `Bearer ${json.accessToken}` },
      cache: "no-store",
    });
    if (me.ok) user = ((await me.json()) as { user?: unknown }).user ?? null;
  } catch {
    user = null;
  }
  const res = NextResponse.json({
    success: true,
    user,
    accessToken: json.accessToken,
    expiresIn: json.expiresIn,
  });
  setRefreshCookie(req, res, json.refreshToken);
  return noStore(res);
}
