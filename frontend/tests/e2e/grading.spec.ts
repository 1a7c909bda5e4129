import { expect, test, type Browser, type Page } from "@playwright/test";
import { join } from "node:path";
import { apiCall, checkA11y, expectFitsScreen, login, newBrowserPage, PASSWORD, screenshot, SCREENSHOTS, unique } from "./helpers";

// The teacher's assessments (/enseignant/evaluations, /enseignant/evaluations/[id]): a
// fresh teacher builds an exam in the UI (keyboard included), publishes it to a class,
// watches a student take it in the live class view, grades the code in the grading
// queue; the student sees the grade arrive without reloading.

async function signIn(page: Page, email: string, home: RegExp): Promise<void> {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(home);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
}

async function studentBrowser(browser: Browser, email: string): Promise<Page> {
  const page = await newBrowserPage(browser);
  await signIn(page, email, /\/eleve$/);
  return page;
}

test("(g1) un examen construit au clavier, publié, suivi en direct, corrigé dans la file ; l'élève voit sa note arriver", async ({ page, browser }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow (its phone screenshot is taken inside)");
  test.setTimeout(240_000);

  // A fresh teacher, created by the demo admin (the demo teacher's call budget is shared).
  const admin = await login("admin@nexus-reussite.fr");
  const teacherEmail = unique("prof");
  await apiCall("POST", "/api/users", admin, { email: teacherEmail, password: PASSWORD, firstName: "Claire", lastName: "Dubois", role: "teacher" });
  await signIn(page, teacherEmail, /\/enseignant$/);

  // A class, created in the UI.
  const className = `Terminale NSI — ${Date.now().toString(36)}`;
  const classForm = page.getByRole("region", { name: "Nouvelle classe" });
  await classForm.getByLabel("Nom de la classe").fill(className);
  await classForm.getByRole("button", { name: "Créer la classe" }).click();
  await expect(page.getByTestId("class-list").getByRole("link", { name: className })).toBeVisible();
  const teacher = await login(teacherEmail, PASSWORD);
  const cls = ((await apiCall("GET", "/api/classes?limit=100", teacher)).classes as { id: number; name: string; joinCode: string }[]).find((c) => c.name === className)!;

  // The nav's "Évaluations": empty for a new teacher.
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Évaluations" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Mes évaluations" })).toBeVisible();
  await expect(page.getByText("Aucune évaluation publiée pour l'instant.")).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-evaluations-vide");
  await page.getByRole("link", { name: "Nouvelle évaluation" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Nouvelle évaluation" })).toBeVisible();

  // Settings.
  const title = `DS récursivité ${Date.now().toString(36)}`;
  await page.getByLabel("Titre", { exact: true }).fill(title);
  await page.getByLabel("Type", { exact: true }).selectOption("exam");
  await expect(page.getByTestId("aide-effective")).toHaveText("Pour cet examen : ARIA n'aidera pas.");
  await page.getByLabel("Durée en minutes").fill("30");
  await page.getByRole("radio", { name: /Indices seulement/ }).check();
  await expect(page.getByTestId("aide-effective")).toContainText("ARIA donnera des indices seulement.");

  // Question 1 (auto-graded): true/false, its prompt left empty for now.
  const questions = page.getByTestId("question");
  const q1 = questions.nth(0);
  await q1.getByLabel("Type de question").selectOption("true_false");
  await q1.getByLabel("Points").fill("2");

  // Question 2 (code) added from the keyboard: the focus lands in its prompt.
  await page.getByLabel("Type de la nouvelle question").selectOption("code");
  await page.getByLabel("Type de la nouvelle question").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Ajouter la question" })).toBeFocused();
  await page.keyboard.press("Enter");
  const q2 = questions.nth(1);
  await expect(q2.getByLabel("Énoncé")).toBeFocused();
  await page.keyboard.type("Écrivez la fonction `carre(x)` qui renvoie le carré de `x`.");
  await page.keyboard.press("Tab"); // the Markdown hint is text: next is "Code de départ"
  await expect(q2.getByLabel("Code de départ (facultatif)")).toBeFocused();
  await page.keyboard.type("def carre(x):\n    pass");
  await q2.getByLabel("Points").fill("8");
  await expect(page.getByTestId("total-points")).toHaveText("2 questions · 10 points, note ramenée sur 20");

  // Reordered with the keyboard: the focus follows the question.
  await q2.getByRole("button", { name: "Monter la question 2" }).focus();
  await page.keyboard.press("Enter");
  await expect(questions.nth(0).locator("legend").first()).toHaveText("Question 1 · Code Python");
  await expect(page.getByRole("button", { name: "Descendre la question 1" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(questions.nth(0).locator("legend").first()).toHaveText("Question 1 · Vrai ou faux");
  await expect(page.getByRole("button", { name: "Monter la question 2" })).toBeFocused();

  // The API refuses the empty prompt: its message is on question 1, which gets the focus.
  await page.getByRole("button", { name: "Créer l'évaluation" }).click();
  const q1Error = questions.nth(0).getByRole("alert");
  await expect(q1Error).toHaveText("énoncé vide ou trop long.");
  await expect(questions.nth(0)).toHaveAttribute("aria-invalid", "true");
  await expect(q1Error).toBeFocused();
  await checkA11y(page, testInfo, "enseignant-evaluation-erreur");

  await questions.nth(0).getByLabel("Énoncé").fill("Une fonction récursive doit avoir un **cas de base**.");
  await questions.nth(0).getByRole("radio", { name: "Vrai" }).check();
  await checkA11y(page, testInfo, "enseignant-evaluation-construction");
  await screenshot(page, testInfo, "enseignant-evaluation-construction");
  await page.getByRole("button", { name: "Créer l'évaluation" }).click();
  await expect(page).toHaveURL(/\/enseignant\/evaluations\/\d+\?vue=publication/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.getByText("Évaluation créée.")).toBeVisible();
  const saved = (await apiCall("GET", `/api/assessments/${id}`, teacher)).assessment as { type: string; timeLimitMinutes: number; helpMode: string; questions: { id: string; type: string; points: number }[] };
  expect(saved).toMatchObject({ type: "exam", timeLimitMinutes: 30, helpMode: "hints" });
  expect(saved.questions.map((q) => [q.id, q.type, q.points])).toEqual([
    ["q1", "true_false", 2],
    ["q2", "code", 8],
  ]);

  // Published to the class.
  await page.getByLabel("Classe", { exact: true }).selectOption({ label: className });
  await page.getByRole("button", { name: "Publier", exact: true }).click();
  await expect(page.getByText(`Publiée dans ${className} : les élèves sont prévenus.`)).toBeVisible();
  await expect(page.getByTestId("publications")).toContainText(className);
  await expect(page.getByTestId("etat-evaluation")).toContainText("publiée dans 1 classe");
  await checkA11y(page, testInfo, "enseignant-evaluation-publication");

  // A student joins with the code and starts the exam in another browser.
  const studentEmail = unique("eleve");
  await apiCall("POST", "/api/auth/register", null, { email: studentEmail, password: PASSWORD, firstName: "Hugo", lastName: "Bernard", role: "student", classLevel: "terminale" });
  const student = await login(studentEmail, PASSWORD);
  await apiCall("POST", "/api/classes/join", student, { code: cls.joinCode });
  const pupil = await studentBrowser(browser, studentEmail);
  await pupil.goto(`/eleve/evaluations/${id}`);
  await expect(pupil.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await pupil.getByRole("button", { name: "Commencer" }).click();
  await expect(pupil.getByTestId("question-q2").getByRole("textbox")).toHaveText(/def carre\(x\):\s*pass/);

  // The teacher's live class view: online, in the exam.
  await page.goto(`/enseignant/classes/${cls.id}`);
  await expect(page.getByTestId("online-count")).toHaveText("1 élève en ligne");
  await expect(page.getByTestId("online-students")).toContainText("Hugo Bernard");
  await expect(page.getByTestId("activity")).toHaveText(`En évaluation : ${title}`);
  await checkA11y(page, testInfo, "enseignant-classe-en-evaluation");
  await screenshot(page, testInfo, "enseignant-classe-en-evaluation");

  // The student answers and hands in.
  await pupil.getByTestId("question-q1").getByText("Vrai", { exact: true }).click();
  const editor = pupil.getByTestId("question-q2").getByRole("textbox");
  await editor.click();
  await pupil.keyboard.press("ControlOrMeta+End");
  for (let i = 0; i < 4; i++) await pupil.keyboard.press("Backspace");
  await pupil.keyboard.type("return x * x");
  await pupil.getByRole("button", { name: "Rendre ma copie" }).click();
  await pupil.getByRole("alertdialog").getByRole("button", { name: "Confirmer et rendre" }).click();
  await expect(pupil.getByTestId("note")).toHaveText("En attente de correction");
  // Handed in: no longer "en évaluation" on the teacher's live view.
  await expect(page.getByText(/En évaluation/)).toHaveCount(0);

  // The grading queue, from the list and the assessment's views.
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Évaluations" }).click();
  await page.getByTestId("published-list").getByRole("link", { name: title }).click();
  await expect(page.getByRole("note")).toContainText("Des élèves ont commencé cette évaluation");
  await expect(page.getByTestId("file-compte")).toContainText("1");
  await page.getByRole("navigation", { name: "Vues de l'évaluation" }).getByRole("link", { name: /Correction/ }).click();
  await expect(page.getByTestId("file-correction")).toContainText("Hugo Bernard");
  await expect(page.getByRole("heading", { name: "Copie de Hugo Bernard" })).toBeVisible();
  // The code, highlighted: `def` and `return` are keywords.
  const code = page.getByTestId("code-eleve");
  await expect(code).toContainText("return x * x");
  await expect(code.locator("span", { hasText: /^return$/ })).toHaveClass(/text-violet-800/);
  await expect(code.locator("span", { hasText: /^def$/ })).toHaveClass(/text-violet-800/);
  // The automatic question is already graded.
  await expect(page.getByTestId("reponse").first()).toContainText("Juste · 2 / 2");

  // Too many points: the API's message on the points field.
  const points = page.getByLabel("Points (sur 8)");
  await points.fill("12");
  await page.getByRole("button", { name: "Valider la note" }).click();
  await expect(page.getByText("points entre 0 et 8.")).toBeVisible();
  await expect(points).toHaveAttribute("aria-invalid", "true");
  await expect(points).toBeFocused();
  await points.fill("6,5");
  await page.getByLabel("Commentaire sur cette question (facultatif)").fill("Juste, mais nommez vos variables.");
  await page.getByLabel("Commentaire général (facultatif)").fill("Bon travail sur la récursivité.");
  await checkA11y(page, testInfo, "enseignant-correction");
  await screenshot(page, testInfo, "enseignant-correction");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectFitsScreen(page);
  await page.screenshot({ path: join(SCREENSHOTS, "enseignant-correction-telephone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.getByRole("button", { name: "Valider la note" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copie de Hugo Bernard notée : 17/20. L'élève est prévenu." })).toBeVisible();
  await expect(page.getByTestId("file-vide")).toBeVisible();

  // The student's page shows the grade without a reload (the notification arrived).
  await expect(pupil.getByTestId("note")).toHaveText("17/20");
  await expect(pupil.getByTestId("resultat")).toContainText("Bon travail sur la récursivité.");
  await expect(pupil.getByTestId("correction-a-venir")).toBeVisible();

  // Results, then the corrections released.
  await page.getByRole("navigation", { name: "Vues de l'évaluation" }).getByRole("link", { name: "Résultats" }).click();
  await expect(page.getByTestId("resultats-eleves")).toContainText("Hugo Bernard");
  await expect(page.getByTestId("resultats-eleves")).toContainText("17/20");
  await expect(page.getByTestId("resume-resultats")).toHaveText("1 copie rendue, 1 notée · moyenne 17/20.");
  await expect(page.getByTestId("resultats-questions").locator("tbody tr").nth(1)).toContainText("6,5 / 8");
  await page.getByRole("button", { name: "Publier la correction" }).click();
  await expect(page.getByTestId("etat-correction")).toHaveText("La correction est publiée.");
  await checkA11y(page, testInfo, "enseignant-evaluation-resultats");
  await screenshot(page, testInfo, "enseignant-evaluation-resultats");

  // The API sends no notification for a release: the student sees it on the next load.
  await pupil.reload();
  await expect(pupil.getByTestId("resultat").getByRole("heading", { name: "Correction question par question" })).toBeVisible();
  await expect(pupil.getByTestId("resultat")).toContainText("Juste, mais nommez vos variables.");

  // Withdrawn from the class after the confirmation (Escape first keeps it): the student
  // no longer has it in their list; the attempt is kept for the teacher.
  await page.getByRole("navigation", { name: "Vues de l'évaluation" }).getByRole("link", { name: "Publication" }).click();
  const withdraw = page.getByRole("button", { name: `Retirer de ${className}` });
  await withdraw.click();
  await expect(page.getByRole("alertdialog")).toContainText("Les tentatives déjà faites sont gardées.");
  await page.keyboard.press("Escape");
  await expect(withdraw).toBeFocused();
  await expect(page.getByTestId("publications")).toContainText(className);
  await withdraw.click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Retirer" }).click();
  await expect(page.getByText("Pas encore publiée")).toBeVisible();
  const listed = (await apiCall("GET", "/api/assessments?limit=100", student)).assessments as { id: number }[];
  expect(listed.map((a) => a.id)).not.toContain(id);
  expect(((await apiCall("GET", `/api/assessments/${id}/attempts`, teacher)).attempts as unknown[]).length).toBe(1);
  await pupil.context().close();
});
