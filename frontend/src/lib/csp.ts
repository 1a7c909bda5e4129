// The Content-Security-Policy of the pages, built per request by src/proxy.ts with a
// fresh nonce: Next puts the nonce on its own bootstrap scripts (it reads it from the
// request's CSP header), so no inline script runs without it — no 'unsafe-inline' for
// scripts. 'strict-dynamic' lets those scripts load the page's chunks.

/** The hub's origin for connect-src: "" when the hub is reached on this origin ("/ws"). */
export function hubOrigin(hubUrl: string): string {
  if (hubUrl.startsWith("/")) return "";
  try {
    const u = new URL(hubUrl);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "";
  }
}

export function contentSecurityPolicy({ nonce, hubUrl, dev }: { nonce: string; hubUrl: string; dev: boolean }): string {
  return [
    "default-src 'self'",
    // 'unsafe-eval' only for `next dev` (React's dev tools evaluate code).
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // Style attributes (React's style props, the code editor's injected styles): inline
    // styles cannot run code; scripts are what the nonce guards.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${hubOrigin(hubUrl)}`.trim(),
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** 16 random bytes, base64: unguessable and different for every response. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
