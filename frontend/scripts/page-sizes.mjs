// First-load JavaScript of each page of the last `next build`, gzip-compressed: the
// scripts its prerendered HTML loads (Next 16 no longer prints this table). Fails when
// a student page is over the budget (docs/PERFORMANCE.md).
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = new URL("../", import.meta.url).pathname;
const dist = join(root, process.env.NEXT_DIST_DIR ?? ".next");
const appDir = join(dist, "server/app");
const BUDGET_KB = 200;
const STUDENT_PAGES = new Set(["/eleve", "/connexion", "/inscription", "/"]);

if (!existsSync(appDir)) {
  console.error(`no build in ${dist}: run next build first`);
  process.exit(1);
}
const pages = readdirSync(appDir)
  .filter((f) => f.endsWith(".html") && !f.startsWith("_"))
  .map((f) => (f === "index.html" ? "/" : `/${f.replace(/\.html$/, "")}`))
  .sort();

const kb = (n) => (n / 1024).toFixed(1);
let over = false;
console.log("page           scripts  raw kB  gzip kB");
for (const page of pages) {
  const html = readFileSync(join(appDir, page === "/" ? "index.html" : `${page.slice(1)}.html`), "utf8");
  // Modern browsers skip the `nomodule` polyfills: not counted.
  const tags = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]).filter((a) => !/\bnoModule\b|\bnomodule\b/.test(a));
  const srcs = [...new Set(tags.map((a) => /src="([^"]+)"/.exec(a)?.[1]).filter(Boolean))];
  let raw = 0;
  let gz = 0;
  for (const src of srcs) {
    const file = join(dist, src.replace(/^\/_next\//, "").split("?")[0]);
    const buf = readFileSync(file);
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  const flag = STUDENT_PAGES.has(page) && gz / 1024 > BUDGET_KB ? "  OVER BUDGET" : "";
  if (flag) over = true;
  console.log(`${page.padEnd(14)} ${String(srcs.length).padStart(7)} ${kb(raw).padStart(7)} ${kb(gz).padStart(8)}${flag}`);
}
if (over) {
  console.error(`a student page loads more than ${BUDGET_KB} kB of gzip-compressed JavaScript`);
  process.exit(1);
}
