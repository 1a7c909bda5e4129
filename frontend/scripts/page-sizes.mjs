// First-load JavaScript of each page of the last `next build`, gzip-compressed (Next 16
// no longer prints this table). Fails when a student page is over the budget
// (docs/PERFORMANCE.md). Every page renders per request (the CSP nonce, src/proxy.ts),
// so none has prerendered HTML: each is measured from the build's manifests — the root
// scripts every page loads plus the client entry chunks of its layout and page.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = new URL("../", import.meta.url).pathname;
const dist = join(root, process.env.NEXT_DIST_DIR ?? ".next");
const appDir = join(dist, "server/app");
const BUDGET_KB = 200;
const STUDENT_PAGES = new Set(["/connexion", "/inscription", "/"]);
const isStudentPage = (page) =>
  STUDENT_PAGES.has(page) || page === "/eleve" || page.startsWith("/eleve/") || page === "/messages" || page.startsWith("/messages/");

if (!existsSync(appDir)) {
  console.error(`no build in ${dist}: run next build first`);
  process.exit(1);
}
// Every page of the build: "/route" → its script URLs (as the HTML names them).
const pages = new Map();
function walk(dir, route) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith("_") || entry.name.endsWith(".segments")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, `${route}/${entry.name}`);
    else if (entry.name === "page_client-reference-manifest.js") {
      pages.set(route || "/", scriptsOfManifest(readFileSync(path, "utf8")));
    }
  }
}
const rootMainFiles = JSON.parse(readFileSync(join(dist, "build-manifest.json"), "utf8")).rootMainFiles ?? [];
function scriptsOfManifest(js) {
  const m = /"entryJSFiles":(\{[^}]*\})/.exec(js);
  const entries = m ? Object.values(JSON.parse(m[1])).flat() : [];
  return [...new Set([...rootMainFiles, ...entries].map((f) => `/_next/${f}`))];
}
walk(appDir, "");
if (pages.size === 0) {
  console.error(`no page manifest found in ${appDir}`);
  process.exit(1);
}

const kb = (n) => (n / 1024).toFixed(1);
let over = false;
console.log(`${"page".padEnd(28)} scripts  raw kB  gzip kB`);
for (const [page, srcs] of [...pages].sort(([a], [b]) => a.localeCompare(b))) {
  let raw = 0;
  let gz = 0;
  for (const src of srcs) {
    const file = join(dist, src.replace(/^\/_next\//, "").split("?")[0]);
    const buf = readFileSync(file);
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  const flag = isStudentPage(page) && gz / 1024 > BUDGET_KB ? "  OVER BUDGET" : "";
  if (flag) over = true;
  console.log(`${page.padEnd(28)} ${String(srcs.length).padStart(7)} ${kb(raw).padStart(7)} ${kb(gz).padStart(8)}${flag}`);
}
if (over) {
  console.error(`a student page loads more than ${BUDGET_KB} kB of gzip-compressed JavaScript`);
  process.exit(1);
}
