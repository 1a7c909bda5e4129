import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, newNonce } from "@/lib/csp";

// Runs before every page: a fresh nonce, the CSP that allows only scripts carrying it,
// on the request (Next reads it there to put the nonce on its scripts) and on the
// response (the browser enforces it). Pages are rendered per request for this (the
// root layout reads the request's headers).
export function proxy(request: NextRequest) {
  const nonce = newNonce();
  const csp = contentSecurityPolicy({
    nonce,
    hubUrl: process.env.NEXT_PUBLIC_HUB_URL ?? "ws://127.0.0.1:8080/ws",
    dev: process.env.NODE_ENV !== "production",
  });
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

export const config = {
  // Pages only: not the rewrites to the services (/api), the session route handlers,
  // static files, or prefetches (which carry no HTML to protect).
  matcher: [
    {
      source: "/((?!api|session|_next/static|_next/image|favicon.ico|robots.txt).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
