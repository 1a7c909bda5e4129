import { expect, test, type Browser, type Page } from "@playwright/test";
import { apiCall, checkA11y, createClass, DEMO_PASSWORD, expectFitsScreen, login, newBrowserPage, PASSWORD, registerStudent, screenshot, signIn } from "./helpers";

// The teacher's classes (/enseignant) and a class's page (/enseignant/classes/[id]):
// join code, archive, invitations, roster and progress, and the live class view.

const TEACHER = "teacher@nexus-reussite.fr";

async function studentBrowser(browser: Browser, email: string): Promise<Page> {
  const page = await newBrowserPage(browser);
  await signIn(page, email, PASSWORD, /\/eleve$/);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
  return page;
}

test("(t1) l'enseignant crée une classe, renouvelle son code, voit l'élève arriver, archive et restaure", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  await signIn(page, TEACHER, DEMO_PASSWORD, /\/enseignant$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mes classes" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Messages" })).toBeVisible();

  // The API's validation error appears on the field.
  const form = page.getByRole("region", { name: "Nouvelle classe" });
  await form.getByLabel("Année scolaire").fill("2026");
  await form.getByRole("button", { name: "Créer la classe" }).click();
  await expect(form.getByLabel("Nom de la classe")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByText("Doit contenir entre 1 et 100 caractères.")).toBeVisible();
  await expect(form.getByText("Année scolaire attendue sous la forme 2026-2027.")).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-nouvelle-classe-erreurs");

  const name = `Terminale NSI — groupe ${Date.now().toString(36)}`;
  await form.getByLabel("Nom de la classe").fill(name);
  await form.getByLabel("Année scolaire").fill("2026-2027");
  await form.getByRole("button", { name: "Créer la classe" }).click();
  await expect(page.getByTestId("class-list").getByRole("link", { name })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-classes");
  await screenshot(page, testInfo, "enseignant-classes");

  await page.getByTestId("class-list").getByRole("link", { name }).click();
  await expect(page).toHaveURL(/\/enseignant\/classes\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  const code = page.getByTestId("join-code");
  await expect(code).toHaveText(/^[A-Z0-9]{4,}$/);
  const oldCode = (await code.textContent())!;
  await page.getByRole("button", { name: "Renouveler le code" }).click();
  await expect(page.getByText("Nouveau code créé : l'ancien ne fonctionne plus.")).toBeVisible();
  await expect(code).not.toHaveText(oldCode);
  const newCode = (await code.textContent())!;

  // A student joins with the new code (the old one is refused).
  const student = await registerStudent("Léa");
  await expect(apiCall("POST", "/api/classes/join", student.token, { code: oldCode })).rejects.toThrow();
  await apiCall("POST", "/api/classes/join", student.token, { code: newCode });
  // A course assigned to the class (API), the student completes one section of it.
  const classId = Number(new URL(page.url()).pathname.split("/").pop());
  const teacher = await login(TEACHER);
  const list = (await apiCall("GET", "/api/courses?level=terminale&limit=1", student.token)) as { courses: { id: number; title: string }[] };
  const course = list.courses[0]!;
  await apiCall("POST", `/api/courses/${course.id}/classes`, teacher, { classId });
  const detail = (await apiCall("GET", `/api/courses/${course.id}`, student.token)) as { content: { chapters: { sections?: { id: string }[] }[] } };
  const sections = detail.content.chapters.flatMap((c) => c.sections ?? []);
  await apiCall("PUT", `/api/courses/${course.id}/progress`, student.token, { sectionId: sections[0]!.id, sectionCompleted: true });
  const percent = Math.floor((1 / sections.length) * 100);
  await page.reload();
  const row = page.getByTestId("roster-row").filter({ hasText: "Léa Martin" });
  await expect(row).toBeVisible();
  await expect(row).toContainText(student.email);
  // The heatmap is a table: the course's column, the student's percentage.
  await expect(page.getByTestId("roster").getByRole("columnheader", { name: course.title })).toBeVisible();
  await expect(row.getByRole("cell").first()).toHaveText(`${percent} %`);

  // Invite by email: the same answer whether or not the account exists.
  await page.getByLabel("Adresse e-mail de l'élève").fill("personne@example.fr");
  await page.getByRole("button", { name: "Inviter", exact: true }).click();
  await expect(page.getByText(/Invitation envoyée à personne@example\.fr, si un compte élève existe/)).toBeVisible();
  await expect(page.getByText("Invitations en attente")).toBeVisible();

  // Switch the code off and on again.
  await page.getByRole("button", { name: "Désactiver le code" }).click();
  await expect(page.getByText("Le code est désactivé")).toBeVisible();
  await page.getByRole("button", { name: "Réactiver le code" }).click();
  await expect(page.getByRole("button", { name: "Désactiver le code" })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-classe");
  await screenshot(page, testInfo, "enseignant-classe");

  // Archive, after the confirmation: read-only.
  await page.getByRole("button", { name: "Archiver la classe" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("lecture seule");
  await checkA11y(page, testInfo, "enseignant-archiver");
  await dialog.getByRole("button", { name: "Archiver" }).click();
  await expect(page.getByTestId("archived-note")).toBeVisible();
  await expect(page.getByRole("button", { name: "Renouveler le code" })).toBeDisabled();
  await expect(page.getByLabel("Adresse e-mail de l'élève")).toBeDisabled();
  await expect(row.getByRole("button", { name: /Retirer/ })).toBeDisabled();
  await checkA11y(page, testInfo, "enseignant-classe-archivee");
  await page.goto("/enseignant");
  await expect(page.getByRole("region", { name: "Classes archivées" }).getByRole("link", { name })).toBeVisible();
  await page.getByRole("region", { name: "Classes archivées" }).getByRole("link", { name }).click();

  // Restore, then remove the student (confirmation).
  await page.getByRole("button", { name: "Restaurer la classe" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Restaurer" }).click();
  await expect(page.getByTestId("archived-note")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Renouveler le code" })).toBeEnabled();
  await row.getByRole("button", { name: "Retirer Léa Martin" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Retirer de la classe" }).click();
  await expect(page.getByTestId("roster-row")).toHaveCount(0);
});

test("(t2) classe en direct : l'enseignant voit l'élève en ligne et le cours qu'il lit", async ({ page, browser }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow (two browsers)");
  const teacher = await login(TEACHER);
  const cls = await createClass(teacher, `Terminale NSI — en direct ${Date.now()}`);
  const student = await registerStudent("Hugo");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  const courses = (await apiCall("GET", "/api/courses?level=terminale&limit=1", student.token)) as { courses: { id: number; title: string }[] };
  const course = courses.courses[0]!;

  await signIn(page, TEACHER, DEMO_PASSWORD, /\/enseignant$/);
  await page.goto(`/enseignant/classes/${cls.id}`);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
  await expect(page.getByTestId("online-count")).toHaveText("Aucun élève en ligne");

  const b = await studentBrowser(browser, student.email);
  await expect(page.getByTestId("online-count")).toHaveText("1 élève en ligne");
  const card = page.getByTestId("online-students").getByRole("listitem").filter({ hasText: "Hugo Martin" });
  await expect(card.getByTestId("activity")).toHaveText("En ligne");
  await b.goto(`/eleve/cours/${course.id}`);
  await expect(b.getByRole("heading", { level: 1, name: course.title })).toBeVisible();
  await expect(card.getByTestId("activity")).toHaveText(`Sur « ${course.title} »`);
  await expect(page.getByTestId("roster-row").filter({ hasText: "Hugo Martin" })).toContainText("en ligne");
  await checkA11y(page, testInfo, "enseignant-classe-en-direct");
  await screenshot(page, testInfo, "enseignant-classe-en-direct");

  await b.context().close();
  await expect(page.getByTestId("online-count")).toHaveText("Aucun élève en ligne");
});

test("(t3) la page d'une classe sur téléphone @phone", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "phone check");
  const teacher = await login(TEACHER);
  const cls = await createClass(teacher, `Première NSI — téléphone ${Date.now()}`);
  const student = await registerStudent("Inès");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  await signIn(page, TEACHER, DEMO_PASSWORD, /\/enseignant$/);
  await page.goto(`/enseignant/classes/${cls.id}`);
  await expect(page.getByTestId("join-code")).toHaveText(cls.joinCode);
  await expect(page.getByTestId("roster-row").filter({ hasText: "Inès Martin" })).toBeVisible();
  // Nothing wider than the screen but the roster's own scrolling region.
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "enseignant-classe-telephone");
  await screenshot(page, testInfo, "enseignant-classe");
});
