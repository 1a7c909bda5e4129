import { expect, test, type Page } from "@playwright/test";
import { apiCall, createClass, createTeacher, DEMO_PASSWORD, login, PASSWORD, registerStudent, signIn, unique } from "./helpers";

// Nothing moves under the pointer once it can be clicked. The browser's own layout-shift
// entries (Layout Instability API) are collected from the first paint until the page has
// its content and the live connection is up. Found in CI: the header's connection pill
// said "Connexion…" at every load, which pushed the navigation onto a second line; once
// live it shrank and the whole page jumped up 28 px between a click's mousedown and its
// mouseup — the click on "Commencer" was lost. Two rules: the header (there from the
// first paint) never moves; once the page shows its content, nothing moves.

type Shift = { value: number; sources: string[]; header: boolean };

async function recordShifts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __shifts: Shift[] };
    w.__shifts = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean; sources?: { node?: Node | null }[] }[]) {
        if (entry.hadRecentInput) continue;
        const elements = (entry.sources ?? []).map((s) => (s.node instanceof Element ? s.node : (s.node?.parentElement ?? null)));
        const sources = elements.map((el) => (el ? `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} « ${(el.textContent ?? "").trim().slice(0, 40)} »` : "?"));
        w.__shifts.push({ value: entry.value, sources, header: elements.some((el) => el?.closest("header") != null) });
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
}

/** The page's layout shifts from its first paint until it shows `ready`, and from then
 * until the live connection is up. */
async function shiftsWhileLoading(page: Page, ready: () => Promise<void>): Promise<{ before: Shift[]; after: Shift[] }> {
  await ready();
  const before = await page.evaluate(() => {
    const w = window as unknown as { __shifts: Shift[] };
    const seen = w.__shifts;
    w.__shifts = [];
    return seen;
  });
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
  // Two frames for the last layout to be reported.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const after = await page.evaluate(() => (window as unknown as { __shifts: Shift[] }).__shifts);
  return { before, after };
}

/** Each page, loaded afresh: its header never moves, and nothing moves once `ready`. */
async function expectStill(page: Page, pages: [string, () => Promise<void>][]): Promise<void> {
  for (const [path, ready] of pages) {
    await page.goto(path);
    const { before, after } = await shiftsWhileLoading(page, ready);
    const all = [...before, ...after];
    expect(all.filter((s) => s.header), `${path}: ${JSON.stringify(all)}`).toEqual([]);
    // 0.01: a tenth of a "good" page's whole cumulative layout shift (0.1); the header's
    // jump scored 0.18 to 0.31 on its own.
    const total = after.reduce((sum, s) => sum + s.value, 0);
    expect(total, `${path}: ${JSON.stringify(after)}`).toBeLessThan(0.01);
  }
}

test("(l) les pages de l'élève ne bougent pas sous le pointeur pendant leur chargement @phone", async ({ page }) => {
  const teacher = await createTeacher("Claire");
  const className = `Terminale NSI — mise en page ${Date.now()}`;
  const cls = await createClass(teacher.token, className);
  const student = await registerStudent("Inès", "Moreau");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  const title = `Quiz stable ${Date.now().toString(36)}`;
  const created = await apiCall("POST", "/api/assessments", teacher.token, {
    title,
    type: "quiz",
    questions: [{ id: "q1", type: "true_false", prompt: "Une liste Python est mutable.", correct: true, points: 1 }],
  });
  const id = (created.assessment as { id: number }).id;
  await apiCall("POST", `/api/assessments/${id}/publish`, teacher.token, { classId: cls.id });

  await recordShifts(page);
  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  const pages: [string, () => Promise<void>][] = [
    ["/eleve", () => expect(page.getByText(className).first()).toBeVisible()],
    ["/eleve/evaluations", () => expect(page.getByRole("link", { name: title })).toBeVisible()],
    [`/eleve/evaluations/${id}`, () => expect(page.getByRole("button", { name: "Commencer" })).toBeVisible()],
  ];
  await expectStill(page, pages);
});

test("(l2) les pages de l'enseignant ne bougent pas sous le pointeur pendant leur chargement", async ({ page }) => {
  const teacher = await createTeacher("Claire");
  const className = `Première NSI — mise en page ${Date.now()}`;
  const cls = await createClass(teacher.token, className);
  const student = await registerStudent("Inès", "Moreau");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  const title = `DS stable ${Date.now().toString(36)}`;
  await apiCall("POST", "/api/assessments", teacher.token, {
    title,
    type: "exam",
    questions: [{ id: "q1", type: "true_false", prompt: "Un arbre binaire a au plus deux enfants par nœud.", correct: true, points: 1 }],
  });

  await recordShifts(page);
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  const pages: [string, () => Promise<void>][] = [
    ["/enseignant", () => expect(page.getByText(className).first()).toBeVisible()],
    [`/enseignant/classes/${cls.id}`, () => expect(page.getByText(/Moreau/).first()).toBeVisible()],
    ["/enseignant/evaluations", () => expect(page.getByText(title).first()).toBeVisible()],
  ];
  await expectStill(page, pages);
});

test("(l3) les pages du parent ne bougent pas sous le pointeur pendant leur chargement @phone", async ({ page }) => {
  const teacher = await createTeacher("Claire");
  const cls = await createClass(teacher.token, `Terminale NSI — parents stables ${Date.now()}`);
  const child = await registerStudent("Léo", "Fontaine");
  await apiCall("POST", "/api/classes/join", child.token, { code: cls.joinCode });
  const pairing = await apiCall("POST", "/api/me/pairing-code", child.token);
  const parentEmail = unique("sophie");
  await apiCall("POST", "/api/auth/register", null, { email: parentEmail, password: PASSWORD, firstName: "Sophie", lastName: "Fontaine", role: "parent" });
  const parent = await login(parentEmail, PASSWORD);
  await apiCall("POST", "/api/me/children", parent, { code: String(pairing.code) });

  await recordShifts(page);
  await signIn(page, parentEmail, PASSWORD, /\/parent$/);
  const pages: [string, () => Promise<void>][] = [
    ["/parent", () => expect(page.getByRole("heading", { name: /Léo Fontaine/ })).toBeVisible()],
    [`/bilan/${child.id}`, () => expect(page.getByText(/Léo/).first()).toBeVisible()],
  ];
  await expectStill(page, pages);
});

test("(l4) les pages de l'administrateur ne bougent pas sous le pointeur pendant leur chargement", async ({ page }) => {
  await recordShifts(page);
  await signIn(page, "admin@nexus-reussite.fr", DEMO_PASSWORD, /\/admin$/);
  const pages: [string, () => Promise<void>][] = [
    ["/admin", () => expect(page.getByRole("heading", { name: "Comptes" })).toBeVisible()],
    ["/admin/utilisateurs", () => expect(page.getByText("admin@nexus-reussite.fr").first()).toBeVisible()],
    // The journal is empty on a fresh database, a table once anything was audited.
    ["/admin/journal", () => expect(page.getByTestId("audit-log").or(page.getByText("Aucune entrée."))).toBeVisible()],
  ];
  await expectStill(page, pages);
});
