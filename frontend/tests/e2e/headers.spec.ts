import { expect, test } from "@playwright/test";

// The Content-Security-Policy of src/proxy.ts: a new nonce on every page, no inline
// script without it, and the app still runs under it (no violation reported).

test("(g) chaque page a sa politique de sécurité du contenu avec un nonce neuf, et l'application fonctionne sous elle", async ({ page, request }) => {
  const first = await request.get("/connexion");
  const second = await request.get("/connexion");
  const csp = first.headers()["content-security-policy"] ?? "";
  const scriptSrc = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src")) ?? "";
  expect(scriptSrc).toMatch(/'nonce-[A-Za-z0-9+/=]{20,}'/);
  expect(scriptSrc).not.toContain("'unsafe-inline'");
  expect(scriptSrc).not.toContain("'unsafe-eval'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  const nonceOf = (policy: string) => policy.match(/'nonce-([^']+)'/)?.[1];
  expect(nonceOf(second.headers()["content-security-policy"] ?? "")).not.toEqual(nonceOf(csp));
  // Every inline script of the page carries this response's nonce.
  const html = await first.text();
  // The title is in the first bytes (htmlLimitedBots), not streamed after the page.
  expect(html).toContain("<title>Se connecter · Nexus Réussite</title>");
  const nonce = nonceOf(csp)!;
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
  expect(inline.length).toBeGreaterThan(0);
  for (const attrs of inline) expect(attrs).toContain(`nonce="${nonce}"`);
  for (const h of ["x-content-type-options", "x-frame-options", "referrer-policy"]) expect(first.headers()[h]).toBeTruthy();

  // In the browser: the page hydrates (the form works) and nothing is refused.
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`Content Security Policy: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill("personne@example.fr");
  await page.getByLabel("Mot de passe", { exact: true }).fill("pas-le-bon-mot-de-passe");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.locator("main").getByRole("alert")).toBeVisible();
  expect(violations).toEqual([]);
  // Injected markup with an inline handler (what an XSS would try) does not run: no
  // 'unsafe-inline' for scripts. (A script element appended through page.evaluate would
  // prove nothing: DevTools' evaluation is exempt from the page's CSP.)
  await page.evaluate(() => {
    const div = document.createElement("div");
    div.innerHTML = '<img src="/nexiste-pas.png" alt="" onerror="window.__injected = true">';
    document.body.appendChild(div);
  });
  await expect.poll(() => violations.length).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
  expect(violations.every((v) => v.includes("script-src"))).toBe(true);
});
