// POST /session/login {email, password} → the API's /api/auth/login; the refresh token
// goes into the httpOnly cookie, the page gets the user and the access token only.
import { NextResponse, type NextRequest } from "next/server";
import {
  callApi,
  forbiddenOrigin,
  noStore,
  sameOrigin,
  setRefreshCookie,
} from "@/lib/server/session";

export async function POST(req: NextRequest) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const body = (await req.json().catch(() => null)) as { email?: unknown; password?: unknown } | null;
  const { status, json } = await callApi(req, "/api/auth/login", {
    email: typeof body?.email === "string" ? body.email : "",
    password: typeof body?.password === "string" ? body.password : "",
  });
  if (status !== 200 || typeof json.refreshToken !== "string") {
    return noStore(NextResponse.json(json, { status }));
  }
  const res = NextResponse.json({
    success: true,
    user: json.user,
    accessToken: json.accessToken,
    expiresIn: json.expiresIn,
  });
  setRefreshCookie(req, res, json.refreshToken);
  return noStore(res);
}
