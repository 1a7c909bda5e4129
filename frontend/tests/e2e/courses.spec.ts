import { expect, test, type Locator, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { apiCall, checkA11y, login, screenshot, unique } from "./helpers";

// The seeded curriculum (database/seed/courses/): the course the test reads.
type SeedCourse = { title: string; content: { chapters: { title: string; sections: { id: string; title: string }[] }[] } };
const seed = JSON.parse(readFileSync(join(__dirname, "../../../database/seed/courses/13-recursivite.json"), "utf8")) as SeedCourse;
const sections = seed.content.chapters.flatMap((c) => c.sections);
const [first, second] = sections as [SeedCourse["content"]["chapters"][0]["sections"][0], SeedCourse["content"]["chapters"][0]["sections"][0]];

/** Presses Tab until `target` has the focus (at most `max` times): it is reachable with the keyboard. */
async function tabTo(page: Page, target: Locator, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`not reached with Tab in ${max} presses`);
}

test("(e) l'élève cherche un cours, le lit, marque une section terminée et la retrouve après un rechargement @phone", async ({ page }, testInfo) => {
  const phone = testInfo.project.name === "phone";
  const email = unique("ines");
  await apiCall("POST", "/api/auth/register", null, {
    email,
    password: "Girafe-Violette-42",
    firstName: "Inès",
    lastName: "Martin",
    role: "student",
    classLevel: "terminale",
  });

  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill("Girafe-Violette-42");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);

  // The catalogue, from the navigation.
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Mes cours" }).click();
  await expect(page).toHaveURL(/\/eleve\/cours$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mes cours" })).toBeVisible();
  await expect(page.getByTestId("course-list").getByRole("listitem").first()).toBeVisible();
  await checkA11y(page, testInfo, "catalogue");
  await screenshot(page, testInfo, "eleve-cours-catalogue");

  // French full-text search through the API (accents do not matter).
  await page.getByRole("searchbox", { name: "Rechercher un cours" }).fill("recursivite");
  await page.getByRole("button", { name: "Rechercher", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "pour « recursivite »" })).toBeVisible();
  const link = page.getByRole("link", { name: seed.title, exact: true });
  await expect(link).toBeVisible();
  await expect(page.getByTestId("course-list").getByRole("listitem").filter({ has: link })).toContainText("Pas encore commencé");
  await checkA11y(page, testInfo, "catalogue-recherche");
  await link.click();

  // The reader opens at the first section (nothing completed yet).
  await expect(page).toHaveURL(/\/eleve\/cours\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name: seed.title })).toBeVisible();
  await expect(page.getByRole("heading", { level: 2, name: first.title })).toBeVisible();
  await expect(page.getByTestId("course-progress")).toHaveText("0 %");
  // Markdown rendered (no raw markup), code highlighted, solution behind a disclosure.
  const article = page.getByRole("article");
  await expect(article.locator("strong").first()).toBeVisible();
  await expect(article.locator("pre code span").first()).toBeVisible();
  await expect(article.locator(".md").first()).not.toContainText("**");
  const solution = article.locator("details").filter({ hasText: "Solution" }).first();
  await expect(solution).not.toHaveAttribute("open");
  await solution.locator("summary").click();
  await expect(solution).toHaveAttribute("open");
  await checkA11y(page, testInfo, "lecteur");
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, testInfo, "eleve-cours-lecteur");

  // Keyboard: the section list and the button are reachable with Tab (on a phone the
  // list is collapsed behind "Sommaire").
  await page.getByRole("heading", { level: 1 }).click();
  const nav = page.getByRole("navigation", { name: "Sommaire du cours" });
  if (phone) {
    const toggle = nav.getByRole("button", { name: /^Sommaire/ });
    await expect(nav.getByRole("button", { name: first.title, exact: true })).toBeHidden();
    await tabTo(page, toggle);
    await page.keyboard.press("Enter");
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
  }
  await tabTo(page, nav.getByRole("button", { name: first.title, exact: true }));
  await expect(nav.getByRole("button", { name: first.title, exact: true })).toHaveAttribute("aria-current", "step");
  await page.keyboard.press("Enter"); // opens it (already shown): the focus goes to its title (on a phone the list closes)
  await expect(page.getByRole("heading", { level: 2, name: first.title })).toBeFocused();
  const mark = page.getByRole("button", { name: "Marquer comme terminé" });
  await tabTo(page, mark, 150);

  // Marked done from the keyboard: the list, the button and the progress follow at once.
  // (The reload below waits for the API to have stored it: the screen changes before.)
  const stored = page.waitForResponse((r) => r.url().includes("/progress") && r.request().method() === "PUT");
  await page.keyboard.press("Enter");
  const percent = `${Math.floor((1 / sections.length) * 100)} %`;
  await expect(page.getByRole("button", { name: "Marquer comme non terminé" })).toBeVisible();
  await expect(page.getByTestId("course-progress")).toHaveText(percent);
  await expect(page.getByText(`1 section terminée sur ${sections.length}`)).toBeVisible();

  // After a reload: still done (the API has it), and the reader resumes at the next section.
  expect((await stored).ok()).toBe(true);
  await page.reload();
  await expect(page.getByRole("heading", { level: 2, name: second.title })).toBeVisible();
  await expect(page.getByTestId("course-progress")).toHaveText(percent);
  if (phone) await nav.getByRole("button", { name: /^Sommaire/ }).click();
  await nav.getByRole("button", { name: `${first.title} (terminée)`, exact: true }).click();
  await expect(page.getByRole("heading", { level: 2, name: first.title })).toBeVisible();
  await expect(page.getByRole("button", { name: "Marquer comme non terminé" })).toBeVisible();

  const token = await login(email, "Girafe-Violette-42");
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user?: { id: number }; id?: number };
  const id = me.user?.id ?? me.id;
  const progress = (await apiCall("GET", `/api/students/${id}/progress`, token)) as {
    courses: { title: string; completedSections: string[]; progressPercentage: number }[];
  };
  const mine = progress.courses.find((c) => c.title === seed.title);
  expect(mine?.completedSections).toEqual([first.id]);

  // The catalogue shows the course as started, with its progress.
  await page.getByRole("link", { name: "← Tous les cours" }).click();
  await page.getByRole("searchbox", { name: "Rechercher un cours" }).fill("récursivité");
  await page.getByRole("button", { name: "Rechercher", exact: true }).click();
  const card = page.getByTestId("course-list").getByRole("listitem").filter({ has: page.getByRole("link", { name: seed.title, exact: true }) });
  await expect(card).toContainText("Commencé");
  await expect(card).toContainText(percent);
});
