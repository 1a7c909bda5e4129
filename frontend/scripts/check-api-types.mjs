// Fails when src/lib/api/schema.d.ts is not what openapi-typescript generates from
// openapi.json (the committed copy of the API's document): then run `npm run api:gen`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "nexus-api-types-"));
try {
  const out = join(dir, "schema.d.ts");
  // The CLI, as `npm run api:gen` runs it (it reports the document's lint problems,
  // such as a duplicated operationId, without failing).
  execFileSync(join(root, "node_modules/.bin/openapi-typescript"), ["openapi.json", "-o", out], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const expected = readFileSync(out, "utf8");
  const committed = readFileSync(join(root, "src/lib/api/schema.d.ts"), "utf8");
  if (expected !== committed) {
    console.error(
      "src/lib/api/schema.d.ts is stale: run `npm run api:gen` " +
        "(and `npm run api:fetch` first to copy the running API's document into openapi.json).",
    );
    process.exit(1);
  }
  console.log("API types are up to date with openapi.json");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
