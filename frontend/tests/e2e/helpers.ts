import AxeBuilder from "@axe-core/playwright";
import { expect, type Browser, type Page, type TestInfo } from "@playwright/test";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const API = process.env.NEXUS_API_URL ?? "http://127.0.0.1:5000";
export const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? "NexusDemo2026!";
// docs/screenshots/ when asked (SCREENSHOT_DIR=../docs/screenshots), else with the test output.
export const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(__dirname, "../../test-results/screenshots");

export function unique(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}@example.fr`;
}

type Json = Record<string, unknown>;

/** A call to the real API (test setup: the teacher's and the student's side). */
export async function apiCall(method: string, path: string, token: string | null, body?: unknown): Promise<Json> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function login(email: string, password = DEMO_PASSWORD): Promise<string> {
  const json = await apiCall("POST", "/api/auth/login", null, { email, password });
  return json.accessToken as string;
}

/** The demo teacher creates a class; its join code. */
export async function createClass(teacher: string, name: string): Promise<{ id: number; joinCode: string }> {
  const json = await apiCall("POST", "/api/classes", teacher, { name, level: "terminale", schoolYear: "2026-2027" });
  const cls = json.class as { id: number; joinCode: string };
  return { id: cls.id, joinCode: cls.joinCode };
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function checkA11y(page: Page, testInfo: TestInfo, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  await testInfo.attach(`axe-${label}.json`, { body: JSON.stringify(results.violations, null, 2), contentType: "application/json" });
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    `axe on ${label}`,
  ).toEqual([]);
}

export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const suffix = testInfo.project.name === "phone" ? "-telephone" : "";
  await page.screenshot({ path: join(SCREENSHOTS, `${name}${suffix}.png`), fullPage: true });
}

/** The password of the accounts the tests create. */
export const PASSWORD = "Girafe-Violette-42";

/** Signs in through the form and waits for the role's home page. */
export async function signIn(page: Page, email: string, password: string, home: RegExp): Promise<void> {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(home);
}

/** A new student account (Terminale), signed in through the API. */
export async function registerStudent(first: string, last = "Martin"): Promise<{ email: string; token: string; id: number }> {
  const email = unique(first.toLowerCase());
  await apiCall("POST", "/api/auth/register", null, { email, password: PASSWORD, firstName: first, lastName: last, role: "student", classLevel: "terminale" });
  const token = await login(email, PASSWORD);
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user: { id: number } };
  return { email, token, id: me.user.id };
}

/** A new teacher account, made by the demo admin (POST /api/users): the demo teacher's
 * request budget (the API counts a user's calls per minute) stays for the other tests. */
export async function createTeacher(first = "Claire"): Promise<{ email: string; token: string }> {
  const admin = await login("admin@nexus-reussite.fr");
  const email = unique(first.toLowerCase());
  await apiCall("POST", "/api/users", admin, { email, password: PASSWORD, firstName: first, lastName: "Dubois", role: "teacher" });
  return { email, token: await login(email, PASSWORD) };
}

/** A second browser (another person at another computer): French, Paris time, desktop size. */
export async function newBrowserPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ locale: "fr-FR", timezoneId: "Europe/Paris", viewport: { width: 1280, height: 900 } });
  return context.newPage();
}

/** Nothing on the page is wider than the viewport. (Not `scrollWidth - innerWidth`: on
 * an emulated phone `innerWidth` grows with the page, so that difference stays 0.) */
export async function expectFitsScreen(page: Page): Promise<void> {
  const width = page.viewportSize()?.width ?? 0;
  expect(await page.evaluate(() => document.documentElement.scrollWidth), "nothing wider than the screen").toBeLessThanOrEqual(width);
}

/** The link to the web app's `page` (e.g. "verifier-email") mailed to `email`, once the
 * API has written it to its dev mailbox (MAILBOX_DIR of the test stack,
 * scripts/lib/web.sh: one .eml a mail; quoted-printable decoded). */
export async function mailedLink(email: string, page: string): Promise<string> {
  const mailbox = process.env.E2E_MAILBOX;
  if (!mailbox) throw new Error("E2E_MAILBOX is not set: run the browser tests through scripts/test-web.sh");
  const pattern = new RegExp(`https?://\\S+/${page}\\?token=[\\w-]+`);
  let link: string | undefined;
  await expect
    .poll(
      () => {
        for (const name of readdirSync(mailbox)) {
          const raw = readFileSync(join(mailbox, name), "utf8");
          if (!raw.includes(`To: ${email}`)) continue;
          const text = raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
          link = text.match(pattern)?.[0];
          if (link) return true;
        }
        return false;
      },
      { timeout: 15_000, message: `a mail to ${email} with a link to /${page}` },
    )
    .toBe(true);
  return link!;
}
