import type { NextConfig } from "next";

// Where the services listen, as seen from the Next server (rewrites are proxied by it).
// Read at build time: `next build` bakes rewrites and headers into its manifests.
const apiUrl = process.env.NEXUS_API_URL ?? "http://127.0.0.1:5000";
const ariaUrl = process.env.NEXUS_ARIA_URL ?? "http://127.0.0.1:5001";
// The hub, as the browser reaches it: an absolute ws(s) URL, or a path on this origin
// ("/ws" behind nginx).
const hubUrl = process.env.NEXT_PUBLIC_HUB_URL ?? "ws://127.0.0.1:8080/ws";

// The Content-Security-Policy is set per request, with a nonce, by src/proxy.ts.
const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const nextConfig: NextConfig = {
  // scripts/test.sh builds into .next-test, so that a test run never replaces the
  // build `scripts/dev.sh` serves.
  distDir: process.env.NEXT_DIST_DIR ?? ".next",
  poweredByHeader: false,
  // The Docker image (docker/Dockerfile, target web) builds with NEXT_OUTPUT=standalone:
  // a self-contained server.js with only the files it loads. dev.sh and the tests keep
  // the ordinary build, served by `next start` (which does not serve a standalone one).
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  reactStrictMode: true,
  // Pages render per request (the CSP nonce): Next would then stream the metadata after
  // the page, and the <title> arrive late — screen readers announce a page by its title
  // when it loads. Render it in the first bytes for every client, not only for bots.
  htmlLimitedBots: /.*/,
  // NEXUS_ARIA_URL_AT_BUILD: the ARIA the streaming route handler
  // (src/app/api/aria/chat/stream/route.ts) calls when NEXUS_ARIA_URL is not set at run
  // time — the same one the rewrites below were built with. Server code only.
  env: { NEXT_PUBLIC_HUB_URL: hubUrl, NEXUS_ARIA_URL_AT_BUILD: ariaUrl },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
  async rewrites() {
    // After the app's own routes: /session/* (route handlers) stay in Next.
    return [
      { source: "/api/aria/:path*", destination: `${ariaUrl}/api/aria/:path*` },
      { source: "/api/:path*", destination: `${apiUrl}/api/:path*` },
    ];
  },
};

export default nextConfig;
