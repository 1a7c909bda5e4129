import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, createClass, createTeacher, expectFitsScreen, login, PASSWORD, registerStudent, screenshot, signIn, unique } from "./helpers";

// School-scale screens (#17): roster import with its dry run, grade exports, the
// printable progress report, the digest's preferences and unsubscribe page, and an
// admin editing an account.

/** A class with one graded student: the teacher's token, the class, the student. */
async function gradedClass() {
  const teacher = await createTeacher("Hélène");
  const cls = await createClass(teacher.token, `Terminale NSI ${Date.now().toString(36)}`);
  const student = await registerStudent("Zoé", "Martin");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  const created = (await apiCall("POST", "/api/assessments", teacher.token, {
    title: "Quiz piles",
    type: "quiz",
    questions: [{ id: "q1", type: "true_false", prompt: "Une pile est LIFO ?", correct: true, points: 2 }],
  })) as { assessment: { id: number } };
  const assessmentId = created.assessment.id;
  await apiCall("POST", `/api/assessments/${assessmentId}/publish`, teacher.token, { classId: cls.id });
  const started = (await apiCall("POST", `/api/assessments/${assessmentId}/attempts`, student.token, {})) as { attempt: { id: number } };
  await apiCall("POST", `/api/attempts/${started.attempt.id}/submit`, student.token, { answers: { q1: true } });
  return { teacher, cls, student, assessmentId };
}

test("(s1) l'enseignant vérifie puis importe une liste Pronote, et exporte les notes en CSV et Excel", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow; the phone layout is checked in (s2)");
  const { teacher, cls, assessmentId } = await gradedClass();
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  await page.goto(`/enseignant/classes/${cls.id}`);
  const card = page.getByRole("region", { name: "Importer une liste d'élèves" });
  await expect(card).toBeVisible();

  // A Latin-1 file with `;`, as Pronote exports it: a good row, a bad address, a duplicate.
  const email = unique("anais");
  const csv = `NOM;PRÉNOM;Né(e) le;Classe;Adresse e-mail\r\nLefèvre;Anaïs;12/03/2009;TG3;${email}\r\nPetit;Noé;05/05/2009;TG3;pas-une-adresse\r\nLefèvre;Anaïs;12/03/2009;TG3;${email}\r\n`;
  await card.getByLabel("Fichier CSV").setInputFiles({ name: "pronote.csv", mimeType: "text/csv", buffer: Buffer.from(csv, "latin1") });
  await card.getByRole("button", { name: "Vérifier le fichier" }).click();
  const preview = card.getByTestId("import-rows");
  await expect(preview.getByRole("row")).toHaveCount(4);
  await expect(preview.getByRole("row").nth(1)).toContainText("Lefèvre Anaïs");
  await expect(preview.getByRole("row").nth(1)).toContainText("Compte créé et inscrit");
  await expect(preview.getByRole("row").nth(2)).toContainText("Adresse e-mail invalide.");
  await expect(preview.getByRole("row").nth(3)).toContainText("Adresse déjà présente ligne 2.");
  await expect(card.getByText("3 ligne(s) : 1 compte(s) à créer, 0 invitation(s), 0 déjà dans la classe, 0 ignorée(s), 2 erreur(s).")).toBeVisible();
  await checkA11y(page, testInfo, "import-apercu");
  await screenshot(page, testInfo, "import-apercu");
  // Nothing written by the dry run.
  const before = (await apiCall("GET", `/api/classes/${cls.id}`, teacher.token)) as { students: unknown[] };
  expect(before.students).toHaveLength(1);

  await card.getByRole("button", { name: "Confirmer l'import" }).click();
  await expect(card.getByText("Import terminé : 1 compte(s) créé(s), 0 invitation(s) envoyée(s), 2 ligne(s) en erreur non importée(s).")).toBeVisible();
  await expect(page.getByTestId("roster").getByRole("link", { name: "Bilan imprimable de Anaïs Lefèvre" })).toBeVisible();

  // Exports: the class's grid as CSV (BOM, `;`, decimal comma) and as Excel.
  const exports = page.getByRole("region", { name: "Exporter les notes" });
  const [csvDownload] = await Promise.all([page.waitForEvent("download"), exports.getByRole("button", { name: "Télécharger en CSV" }).click()]);
  expect(csvDownload.suggestedFilename()).toMatch(/^notes-terminale-nsi-[a-z0-9-]+\.csv$/);
  const bytes = readFileSync((await csvDownload.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const lines = bytes.subarray(3).toString("utf8").split("\r\n");
  expect(lines[0]).toBe("Nom;Prénom;Quiz piles (/2);Moyenne (/20)");
  expect(lines).toContain("Martin;Zoé;2;20");
  expect(lines).toContain("Lefèvre;Anaïs;;");
  const [xlsx] = await Promise.all([page.waitForEvent("download"), exports.getByRole("button", { name: "Télécharger en Excel (.xlsx)" }).click()]);
  expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
  expect(readFileSync((await xlsx.path())!).subarray(0, 2).toString("latin1")).toBe("PK");

  // One assessment's grades, from its results page.
  await page.goto(`/enseignant/evaluations/${assessmentId}?vue=resultats`);
  const perAssessment = page.getByTestId("grade-exports");
  await expect(perAssessment).toContainText(/Terminale NSI/);
  const [one] = await Promise.all([page.waitForEvent("download"), perAssessment.getByRole("button", { name: /^CSV/ }).click()]);
  const text = readFileSync((await one.path())!).subarray(3).toString("utf8");
  expect(text.split("\r\n")[0]).toBe("Nom;Prénom;Note;Sur;Note sur 20;Statut;En retard");
  expect(text).toContain("Martin;Zoé;2;2;20;Noté;non");
});

test("(s2) le bilan imprimable d'un élève, vu par son enseignant, sans l'en-tête du site à l'impression", async ({ page }, testInfo) => {
  const { teacher, student } = await gradedClass();
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  await page.goto(`/bilan/${student.id}`);
  const report = page.getByTestId("progress-report");
  await expect(report.getByRole("heading", { level: 1, name: "Zoé Martin" })).toBeVisible();
  await expect(report.getByTestId("report-results")).toContainText("Quiz piles");
  await expect(report.getByTestId("report-results")).toContainText("20/20");
  await expect(report.getByTestId("report-average")).toHaveText("20/20");
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "bilan");
  await screenshot(page, testInfo, "bilan");
  await page.emulateMedia({ media: "print" });
  await expect(page.getByRole("navigation", { name: "Navigation principale" })).toBeHidden();
  await expect(report.getByRole("button", { name: "Imprimer ou enregistrer en PDF" })).toBeHidden();
  await expect(report.getByTestId("report-results")).toBeVisible();
  await screenshot(page, testInfo, "bilan-impression");
  // Another teacher's student: the API's French 404.
  const other = await createTeacher("Marc");
  await page.emulateMedia({ media: "screen" });
  await page.context().clearCookies();
  await signIn(page, other.email, PASSWORD, /\/enseignant$/);
  await page.goto(`/bilan/${student.id}`);
  await expect(page.getByText("Élève introuvable.")).toBeVisible();
});

test("(s3) préférences du récapitulatif par e-mail et page de désabonnement", async ({ page }, testInfo) => {
  const student = await registerStudent("Inès", "Roux");
  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  await page.getByRole("link", { name: "Mon compte" }).click();
  await page.getByRole("navigation", { name: "Mon compte" }).getByRole("link", { name: "E-mails" }).click();
  await expect(page).toHaveURL(/\/parametres\/notifications$/);
  await expect(page.getByRole("heading", { level: 1, name: "E-mails et notifications" })).toBeVisible();
  await expect(page.getByRole("radio", { name: /Chaque semaine/ })).toBeChecked();
  await page.getByRole("radio", { name: /Chaque jour/ }).check();
  await page.getByRole("checkbox", { name: "Messages non lus" }).uncheck();
  await page.getByRole("button", { name: "Enregistrer" }).click();
  await expect(page.getByText("Préférences enregistrées.")).toBeVisible();
  const saved = (await apiCall("GET", "/api/me/notification-preferences", student.token)) as { preferences: unknown };
  expect(saved.preferences).toEqual({ digestFrequency: "daily", categories: { grades: true, assessments: true, messages: false } });
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "preferences-email");
  await screenshot(page, testInfo, "preferences-email");

  // The unsubscribe page, signed out, with a link whose signature is wrong: the API's
  // French refusal (the real link is proven in the API's SMTP tests).
  await page.context().clearCookies();
  await page.goto(`/desabonnement?token=${student.id}.${"0".repeat(64)}`);
  await page.getByRole("button", { name: "Confirmer le désabonnement" }).click();
  await expect(page.getByText("Lien de désabonnement invalide. Gérez vos e-mails depuis vos préférences.")).toBeVisible();
  await checkA11y(page, testInfo, "desabonnement");
  const still = (await apiCall("GET", "/api/me/notification-preferences", student.token)) as { preferences: { digestFrequency: string } };
  expect(still.preferences.digestFrequency).toBe("daily");
});

test("(s4) l'administrateur modifie un compte ; l'erreur de l'API s'affiche sur son champ", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  const student = await registerStudent("Léo", "Bernard");
  await signIn(page, "admin@nexus-reussite.fr", "NexusDemo2026!", /\/admin$/);
  await page.goto("/admin/utilisateurs");
  await page.getByLabel("Nom ou adresse e-mail").fill(student.email);
  await page.getByRole("button", { name: "Chercher" }).click();
  const row = page.locator(`[data-testid="user-row"][data-email="${student.email}"]`);
  await row.getByRole("button", { name: /^Modifier/ }).click();
  const form = row.getByRole("form", { name: "Modifier le compte de Léo Bernard" });
  await form.getByLabel("Adresse e-mail").fill("pas-une-adresse");
  await form.getByRole("button", { name: "Enregistrer" }).click();
  await expect(form.getByLabel("Adresse e-mail")).toHaveAttribute("aria-invalid", "true");
  await form.getByLabel("Adresse e-mail").fill(student.email);
  await form.getByLabel("Prénom").fill("Léon");
  await form.getByLabel("Niveau").selectOption("premiere");
  await form.getByRole("button", { name: "Enregistrer" }).click();
  await expect(row.getByText("Compte de Léon Bernard enregistré.")).toBeVisible();
  await expect(row.getByText("Léon Bernard", { exact: true })).toBeVisible();
  const token = await login(student.email, PASSWORD);
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user: { firstName: string } };
  expect(me.user.firstName).toBe("Léon");
  await checkA11y(page, testInfo, "admin-modifier-compte");
  await screenshot(page, testInfo, "admin-modifier-compte");
});
