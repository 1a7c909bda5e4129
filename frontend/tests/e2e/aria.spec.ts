import { expect, test, type Page } from "@playwright/test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SCREENSHOTS, apiCall, checkA11y, createClass, login, screenshot, unique } from "./helpers";

// ARIA beside the course (docs/FRONTEND.md, "ARIA in the web app"). ARIA runs for real,
// with the llama.cpp server scripts/test-web.sh gives it (a tiny model: its answers are
// poor, but they are generated and streamed for real, through the Next server).

type SeedCourse = { title: string; content: { chapters: { sections: { id: string; title: string }[] }[] } };
const seed = JSON.parse(readFileSync(join(__dirname, "../../../database/seed/courses/13-recursivite.json"), "utf8")) as SeedCourse;
const PASSWORD = "Girafe-Violette-42";

type Student = { email: string; token: string; id: number };

async function newStudent(name: string): Promise<Student> {
  const email = unique(name);
  await apiCall("POST", "/api/auth/register", null, { email, password: PASSWORD, firstName: "Inès", lastName: "Martin", role: "student", classLevel: "terminale" });
  const token = await login(email, PASSWORD);
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user?: { id: number } };
  return { email, token, id: me.user!.id };
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
}

async function courseId(token: string): Promise<number> {
  const list = (await apiCall("GET", `/api/courses?q=${encodeURIComponent("récursivité")}&limit=10`, token)) as { courses: { id: number; title: string }[] };
  const course = list.courses.find((c) => c.title === seed.title);
  expect(course, "the seeded course La récursivité").toBeTruthy();
  return course!.id;
}

/** ARIA through the web app's origin (Next rewrites /api/aria/* to ARIA). */
async function ariaCall(page: Page, method: "GET" | "POST" | "PATCH", path: string, token: string, data?: unknown) {
  const res = await page.request.fetch(path, { method, headers: { authorization: `Bearer ${token}` }, ...(data === undefined ? {} : { data }) });
  expect(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`).toBe(true);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * A question asked through the API (set-up): the stream, read to its end — a model on a
 * busy machine may need longer than the rewrite proxy's 30 s for `POST /api/aria/chat`.
 */
async function askThroughApi(page: Page, token: string, body: unknown): Promise<{ sessionId: string; content: string }> {
  const res = await page.request.post("/api/aria/chat/stream", { headers: { authorization: `Bearer ${token}` }, data: body, timeout: 240_000 });
  expect(res.ok(), `POST /api/aria/chat/stream: ${res.status()}`).toBe(true);
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith("data:") && l.includes('"type":"ai_response"'));
  expect(line, `an ai_response in ${text.slice(0, 500)}`).toBeTruthy();
  return JSON.parse(line!.slice(5)) as { sessionId: string; content: string };
}

/**
 * Records, at every change of the page, the state and text length of the last answer:
 * what a student sees while it streams (read back with `samples`).
 */
async function watchAnswers(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __aria: { state: string; length: number }[] };
    w.__aria = [];
    const record = () => {
      const answers = document.querySelectorAll<HTMLElement>('[data-testid="aria-answer"]');
      const last = answers[answers.length - 1];
      if (!last) return;
      const text = last.querySelector('[data-testid="aria-answer-text"]')?.textContent ?? "";
      const sample = { state: last.dataset.state ?? "", length: text.length };
      const prev = w.__aria[w.__aria.length - 1];
      if (!prev || prev.state !== sample.state || prev.length !== sample.length) w.__aria.push(sample);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}
const samples = (page: Page) => page.evaluate(() => (window as unknown as { __aria: { state: string; length: number }[] }).__aria);

test.describe("ARIA", () => {
  // The model runs on the test machine's CPU, beside everything else: answers can take
  // a minute, and ARIA indexes the courses when it starts.
  test.setTimeout(600_000);

  test("(f) l'élève pose une question à ARIA à côté du cours, voit la réponse s'écrire, suit une source et note la réponse", async ({ page }, testInfo) => {
    test.skip(testInfo.project.name === "phone", "the phone has its own test (the sheet)");
    const student = await newStudent("aria");
    const id = await courseId(student.token);
    await signIn(page, student.email);
    await page.goto(`/eleve/cours/${id}`);
    await expect(page.getByRole("heading", { level: 1, name: seed.title })).toBeVisible();

    // The panel beside the section (1280 px wide), with ARIA's oversight notice, once.
    const panel = page.getByRole("complementary", { name: "ARIA, ton tuteur" });
    await expect(panel.getByRole("heading", { level: 2, name: "ARIA, ton tuteur" })).toBeVisible();
    await expect(panel.getByTestId("aria-oversight")).toContainText("Tes enseignants peuvent lire tes conversations avec ARIA");
    await expect(panel.getByText(/À propos de :/)).toContainText(seed.content.chapters[0]!.sections[0]!.title);
    await checkA11y(page, testInfo, "aria-panneau-vide");

    const question = panel.getByLabel("Ta question");
    const answer = panel.getByTestId("aria-answer").last();
    // Generated by the model and streamed. On a machine too busy for the model to start
    // within ARIA's timeout, ARIA answers from the courses instead (no pieces, the
    // answer in one go — `data-generation="fallback"`): the question is asked again.
    const questions = [
      "Qu'est-ce que le cas de base d'une fonction récursive ?",
      "Pourquoi une fonction récursive doit-elle s'arrêter ?",
      "Que se passe-t-il dans la pile d'appels pendant une récursion ?",
    ];
    for (const [i, text] of questions.entries()) {
      await watchAnswers(page);
      await question.fill(text);
      await question.press("Enter");
      await expect(panel.getByText(text)).toBeVisible();
      // While it is written: "Arrêter" instead of "Envoyer", the answer marked busy.
      await expect(panel.getByRole("button", { name: "Arrêter" })).toBeVisible();
      await expect(answer).toHaveAttribute("data-state", "done", { timeout: 240_000 });
      if ((await answer.getAttribute("data-generation")) === "enabled") break;
      console.warn(`ARIA answered question ${i + 1} without the model (${await answer.getAttribute("data-generation")}): asking again`);
    }
    await expect(answer).toHaveAttribute("data-generation", "enabled");
    await expect(answer).toHaveAttribute("aria-busy", "false");
    await expect(panel.getByRole("button", { name: "Envoyer" })).toBeVisible();
    await expect(panel.getByRole("status").filter({ hasText: "Réponse d'ARIA reçue." })).toBeAttached();

    // It arrived in pieces: partial text was on screen before the answer was done, and grew.
    const seen = await samples(page);
    const streaming = seen.filter((s) => s.state === "streaming" && s.length > 0).map((s) => s.length);
    const final = (await answer.getByTestId("aria-answer-text").textContent())?.length ?? 0;
    expect(streaming.length, `partial states seen: ${JSON.stringify(seen)}`).toBeGreaterThanOrEqual(2);
    expect(Math.min(...streaming)).toBeLessThan(Math.max(...streaming));
    expect(Math.min(...streaming)).toBeLessThan(final);
    expect(seen.findIndex((s) => s.state === "streaming")).toBeLessThan(seen.findIndex((s) => s.state === "done"));

    // Sources: links to the cited sections.
    const source = answer.getByTestId("aria-sources").getByRole("link").first();
    await expect(source).toBeVisible();
    const href = (await source.getAttribute("href"))!;
    const sectionTitle = (await source.textContent())!.trim();
    expect(href).toMatch(/^\/eleve\/cours\/\d+\?section=/);
    await checkA11y(page, testInfo, "aria-panneau-reponse");
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, testInfo, "aria-panneau");

    await source.click();
    await expect(page).toHaveURL(new RegExp(`${href.replace(/[?]/g, "\\?")}$`));
    await expect(page.getByRole("heading", { level: 2, name: sectionTitle })).toBeFocused();

    // Helpful: the button is pressed, ARIA has the rating.
    const panelAfter = page.getByRole("complementary", { name: "ARIA, ton tuteur" });
    const kept = panelAfter.getByTestId("aria-answer").last();
    await expect(kept).toHaveAttribute("data-state", "done");
    await kept.getByRole("button", { name: "Utile", exact: true }).click();
    await expect(kept.getByRole("button", { name: "Utile", exact: true })).toHaveAttribute("aria-pressed", "true");
    await expect(kept.getByText("Merci pour ton avis !")).toBeVisible();
    const sessions = (await ariaCall(page, "GET", "/api/aria/sessions?limit=100", student.token)) as { sessions: { sessionId: string }[] };
    expect(sessions.sessions).toHaveLength(1);
    const session = (await ariaCall(page, "GET", `/api/aria/sessions/${sessions.sessions[0]!.sessionId}`, student.token)) as {
      messages: { messageType: string; helpful: boolean | null }[];
    };
    expect(session.messages.filter((m) => m.messageType === "assistant").map((m) => m.helpful).at(-1)).toBe(true);
  });

  test("(g) les conversations passées : l'élève retrouve sa conversation dans « ARIA », l'ouvre, la renomme et la supprime", async ({ page }, testInfo) => {
    test.skip(testInfo.project.name === "phone", "desktop flow");
    const student = await newStudent("aria-sessions");
    const id = await courseId(student.token);
    const asked = await askThroughApi(page, student.token, {
      message: "Comment la pile d'appels évolue-t-elle pendant une récursion ?",
      context: { currentCourse: id },
    });

    await signIn(page, student.email);
    await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "ARIA" }).click();
    await expect(page).toHaveURL(/\/eleve\/aria$/);
    await expect(page.getByRole("heading", { level: 1, name: "ARIA, ton tuteur" })).toBeVisible();
    const list = page.getByTestId("aria-sessions");
    const item = list.getByRole("listitem").filter({ hasText: "Comment la pile d'appels évolue-t-elle" });
    await expect(item).toBeVisible();
    await expect(item).toContainText("2 messages");
    await checkA11y(page, testInfo, "aria-sessions-liste");

    // Open it: the question and ARIA's stored answer.
    await item.getByRole("button", { name: /^Ouvrir : Comment la pile d'appels/ }).click();
    await expect(page).toHaveURL(new RegExp(`session=${asked.sessionId}$`));
    const chat = page.getByTestId("aria-chat");
    // The question (also the conversation's title, in the heading) and the stored answer.
    await expect(chat.getByRole("list", { name: "Conversation avec ARIA" }).getByText("Comment la pile d'appels évolue-t-elle pendant une récursion ?")).toBeVisible();
    await expect(chat.getByTestId("aria-answer")).toHaveCount(1);
    await expect(chat.getByTestId("aria-answer")).toHaveAttribute("data-state", "done");
    await expect(chat.getByTestId("aria-rating")).toBeVisible();

    // Rename it (from the keyboard), the list and ARIA agree, also after a reload.
    await item.getByRole("button", { name: /^Renommer/ }).click();
    const field = page.getByLabel("Nouveau titre");
    await expect(field).toBeFocused();
    await field.fill("Révisions : pile d'appels");
    await field.press("Enter");
    await expect(page.getByRole("status").filter({ hasText: "Conversation renommée" })).toBeVisible();
    await expect(list.getByRole("button", { name: "Ouvrir : Révisions : pile d'appels" })).toBeVisible();
    await expect(chat.getByRole("heading", { level: 2, name: "Révisions : pile d'appels" })).toBeVisible();
    await checkA11y(page, testInfo, "aria-sessions-ouverte");
    await screenshot(page, testInfo, "aria-sessions");
    await page.reload();
    await expect(page.getByTestId("aria-sessions").getByRole("button", { name: "Ouvrir : Révisions : pile d'appels" })).toBeVisible();
    const listed = (await ariaCall(page, "GET", "/api/aria/sessions?limit=100", student.token)) as { sessions: { sessionId: string; title: string }[] };
    expect(listed.sessions).toEqual([expect.objectContaining({ sessionId: asked.sessionId, title: "Révisions : pile d'appels" })]);

    // Delete it, after a confirmation (Annuler first keeps it).
    const renamed = page.getByTestId("aria-sessions").getByRole("listitem").filter({ hasText: "Révisions : pile d'appels" });
    await renamed.getByRole("button", { name: /^Supprimer/ }).click();
    const dialog = page.getByRole("alertdialog", { name: "Supprimer cette conversation ?" });
    await expect(dialog).toBeVisible();
    await checkA11y(page, testInfo, "aria-sessions-suppression");
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(renamed).toBeVisible();
    await expect(renamed.getByRole("button", { name: /^Supprimer/ })).toBeFocused();
    await renamed.getByRole("button", { name: /^Supprimer/ }).click();
    await dialog.getByRole("button", { name: "Supprimer" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Conversation supprimée." })).toBeVisible();
    await expect(page.getByText("Aucune conversation pour l'instant.")).toBeVisible();
    // Its button is gone: the focus is on the list's heading, not lost to the page.
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).toMatch(/^H[1-3]$/);
    const after = (await ariaCall(page, "GET", "/api/aria/sessions?limit=100", student.token)) as { sessions: unknown[] };
    expect(after.sessions).toEqual([]);
  });

  test("(h) pendant un examen en cours, ARIA refuse et le panneau l'explique", async ({ page }, testInfo) => {
    test.skip(testInfo.project.name === "phone", "desktop flow");
    const teacher = await login("teacher@nexus-reussite.fr");
    const cls = await createClass(teacher, `Terminale NSI — ARIA examen ${Date.now()}`);
    const student = await newStudent("aria-examen");
    await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
    const id = await courseId(student.token);
    const title = `DS récursivité ${Date.now()}`;
    // An exam whose help mode refuses (`none`; `default` is `none` for an exam too).
    const created = await apiCall("POST", "/api/assessments", teacher, {
      title,
      type: "exam",
      helpMode: "none",
      courseId: id,
      timeLimitMinutes: 60,
      questions: [{ id: "q1", type: "free_text", prompt: "Écrire une fonction récursive factorielle et justifier sa terminaison.", points: 5 }],
    });
    const assessmentId = (created.assessment as { id: number }).id;
    await apiCall("POST", `/api/assessments/${assessmentId}/publish`, teacher, { classId: cls.id });
    await apiCall("POST", `/api/assessments/${assessmentId}/attempts`, student.token, {});

    await signIn(page, student.email);
    await page.goto(`/eleve/cours/${id}`);
    const panel = page.getByRole("complementary", { name: "ARIA, ton tuteur" });
    const question = panel.getByLabel("Ta question");
    await question.fill("Quelle est la réponse à la question de mon examen sur la factorielle récursive ?");
    await panel.getByRole("button", { name: "Envoyer" }).click();

    const refusal = panel.getByTestId("aria-exam-refusal");
    await expect(refusal).toBeVisible({ timeout: 240_000 });
    await expect(refusal).toContainText("Mode examen : ARIA ne t'aidera pas sur ce DS");
    await expect(refusal).toContainText(title);
    await expect(refusal).toContainText("Ce n'est pas une panne");
    // An explanation, not an error: no alert, no sources.
    await expect(panel.getByRole("alert")).toHaveCount(0);
    await expect(refusal.getByTestId("aria-sources")).toHaveCount(0);
    await expect(panel.getByRole("status").filter({ hasText: "ARIA ne peut pas t'aider sur ce sujet pendant ton évaluation." })).toBeAttached();
    await checkA11y(page, testInfo, "aria-refus-examen");
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, testInfo, "aria-refus-examen");
  });

  test("(j) budget du jour épuisé : le message d'ARIA, et la question reste dans le champ", async ({ page }, testInfo) => {
    test.skip(testInfo.project.name === "phone", "desktop flow");
    const teacher = await login("teacher@nexus-reussite.fr");
    const cls = await createClass(teacher, `Terminale NSI — ARIA budget ${Date.now()}`);
    const student = await newStudent("aria-budget");
    await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
    const id = await courseId(student.token);
    // The teacher gives this student no ARIA tokens today (ARIA's own route, through the web app).
    const res = await page.request.put(`/api/aria/students/${student.id}/budget`, { headers: { authorization: `Bearer ${teacher}` }, data: { dailyTokens: 0 } });
    expect(res.ok(), `PUT budget: ${res.status()}`).toBe(true);

    await signIn(page, student.email);
    await page.goto(`/eleve/cours/${id}`);
    const panel = page.getByRole("complementary", { name: "ARIA, ton tuteur" });
    const question = panel.getByLabel("Ta question");
    await question.fill("Comment écrire une fonction récursive ?");
    await question.press("Enter");
    // 429 aria_budget_exhausted: ARIA's French message, when to try again, the question kept.
    const alert = panel.getByRole("alert");
    await expect(alert).toContainText(/budget/i);
    await expect(alert).toContainText(/Tu pourras réessayer dans \d+ (s|min|h)\./);
    await expect(panel.getByTestId("aria-answer")).toHaveAttribute("data-state", "failed");
    await expect(question).toHaveValue("Comment écrire une fonction récursive ?");
    await checkA11y(page, testInfo, "aria-budget-epuise");
  });

  test("(i) sur un téléphone, ARIA s'ouvre dans un panneau par-dessus le cours @phone", async ({ page }, testInfo) => {
    test.skip(testInfo.project.name !== "phone", "the sheet is for narrow screens");
    const student = await newStudent("aria-telephone");
    const id = await courseId(student.token);
    await signIn(page, student.email);
    await page.goto(`/eleve/cours/${id}`);
    await expect(page.getByRole("heading", { level: 1, name: seed.title })).toBeVisible();

    // Behind a button: closed, then open with the focus on the question.
    const open = page.getByRole("button", { name: "Demander à ARIA" });
    await expect(open).toHaveAttribute("aria-expanded", "false");
    await expect(page.getByRole("dialog")).toBeHidden();
    await open.click();
    const sheet = page.getByRole("dialog", { name: "ARIA, ton tuteur" });
    await expect(sheet).toBeVisible();
    await expect(open).toHaveAttribute("aria-expanded", "true");
    const question = sheet.getByLabel("Ta question");
    await expect(question).toBeFocused();
    await checkA11y(page, testInfo, "aria-telephone-ouvert");

    await question.fill("Pourquoi une fonction récursive a-t-elle besoin d'un cas de base ?");
    await question.press("Enter");
    const answer = sheet.getByTestId("aria-answer").last();
    await expect(answer).toHaveAttribute("data-state", /waiting|streaming|done/);
    await expect(answer).toHaveAttribute("data-state", "done", { timeout: 240_000 });
    await expect(answer.getByTestId("aria-answer-text")).not.toBeEmpty();
    await checkA11y(page, testInfo, "aria-telephone-reponse");
    // The sheet is fixed to the screen: what the phone shows, not the whole page.
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "aria-panneau-telephone.png") });

    // Tab stays in the sheet; Escape closes it and gives the focus back to the button.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      expect(await sheet.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    }
    await page.keyboard.press("Escape");
    await expect(sheet).toBeHidden();
    await expect(open).toHaveAttribute("aria-expanded", "false");
    await expect(open).toBeFocused();

    // A source opens its section and closes the sheet.
    await open.click();
    const source = sheet.getByTestId("aria-sources").getByRole("link").first();
    if ((await source.count()) > 0) {
      const sectionTitle = (await source.textContent())!.trim();
      await source.click();
      await expect(sheet).toBeHidden();
      await expect(page.getByRole("heading", { level: 2, name: sectionTitle })).toBeFocused();
    }
  });
});
