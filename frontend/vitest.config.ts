import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  esbuild: { jsx: "automatic" },
  // 30 s per test: rendering the whole seeded curriculum takes 2.4 s on a quiet machine and
  // went over Vitest's default 5 s while cargo and next builds shared the 2 cores.
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node", testTimeout: 30_000 },
});
