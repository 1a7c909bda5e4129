// POST /session/logout → the API's /api/auth/logout (the session ends server-side),
// and the cookie is cleared.
import { NextResponse, type NextRequest } from "next/server";
import {
  REFRESH_COOKIE,
  callApi,
  clearRefreshCookie,
  forbiddenOrigin,
  noStore,
  sameOrigin,
} from "@/lib/server/session";

export async function POST(req: NextRequest) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const token = req.cookies.get(REFRESH_COOKIE)?.value;
  if (token) await callApi(req, "/api/auth/logout", { refreshToken: token });
  const res = NextResponse.json({ success: true });
  clearRefreshCookie(req, res);
  return noStore(res);
}
