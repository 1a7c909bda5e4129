import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, createClass, login, screenshot, unique } from "./helpers";

test("(c) un parent lie son enfant avec un code d'appairage et le voit", async ({ page }, testInfo) => {
  // The child: registered and asked for a pairing code through the API.
  const childEmail = unique("ines");
  await apiCall("POST", "/api/auth/register", null, {
    email: childEmail,
    password: "Girafe-Violette-42",
    firstName: "Inès",
    lastName: "Moreau",
    role: "student",
    classLevel: "premiere",
  });
  const child = await login(childEmail, "Girafe-Violette-42");
  const pairing = await apiCall("POST", "/api/me/pairing-code", child);

  // The parent registers in the app.
  await page.goto("/inscription");
  await page.getByLabel("Parent").check();
  await expect(page.getByLabel("Niveau")).toHaveCount(0);
  await page.getByLabel("Prénom").fill("Karim");
  await page.getByLabel("Nom", { exact: true }).fill("Moreau");
  await page.getByLabel("Adresse e-mail").fill(unique("karim"));
  await page.getByLabel("Mot de passe", { exact: true }).fill("Girafe-Violette-42");
  await page.getByLabel("Confirmer le mot de passe").fill("Girafe-Violette-42");
  await expect(page.getByLabel("Date de naissance")).toHaveCount(0);
  await page.getByRole("button", { name: "Créer un compte" }).click();

  await expect(page).toHaveURL(/\/parent$/);
  await expect(page.getByRole("heading", { name: "Mes enfants" })).toBeVisible();
  await expect(page.getByText(/Aucun enfant n.est encore lié/)).toBeVisible();
  await checkA11y(page, testInfo, "parent-vide");

  // A wrong code: the API's French message.
  await page.getByLabel("Code d'appairage").fill("AAAA-BBBB");
  await page.getByRole("button", { name: "Lier" }).click();
  await expect(page.locator("main").getByRole("alert")).not.toBeEmpty();

  await page.getByLabel("Code d'appairage").fill(String(pairing.code));
  await page.getByRole("button", { name: "Lier" }).click();
  await expect(page.getByText("Inès Moreau est maintenant lié(e) à votre compte.")).toBeVisible();
  await expect(page.getByRole("heading", { name: /Inès Moreau/ })).toBeVisible();
  await expect(page.getByTestId("child")).toHaveCount(1);
  await checkA11y(page, testInfo, "parent");
  await screenshot(page, testInfo, "parent-tableau-de-bord");
});

test("l'enseignant arrive sur ses classes", async ({ page }, testInfo) => {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill("teacher@nexus-reussite.fr");
  await page.getByLabel("Mot de passe").fill(process.env.DEMO_PASSWORD ?? "NexusDemo2026!");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/enseignant$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mes classes" })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant");
  // A student page is not for a teacher: back to their own.
  await page.goto("/eleve");
  await expect(page).toHaveURL(/\/enseignant$/);
});

test("(c) un parent de deux enfants voit la note corrigée, le résumé ARIA, change d'enfant et écrit à l'enseignant", async ({ page }, testInfo) => {
  const password = "Girafe-Violette-42";
  const teacher = await login("teacher@nexus-reussite.fr");
  const cls = await createClass(teacher, `Première NSI — parents ${Date.now()}`);

  // Two children in the class, each with a pairing code; the parent links both (the
  // linking form itself is the test above).
  const child = async (firstName: string) => {
    const email = unique(firstName.toLowerCase());
    await apiCall("POST", "/api/auth/register", null, { email, password, firstName, lastName: "Garnier", role: "student", classLevel: "premiere" });
    const token = await login(email, password);
    await apiCall("POST", "/api/classes/join", token, { code: cls.joinCode });
    const me = (await apiCall("GET", "/api/auth/me", token)) as { user: { id: number } };
    const pairing = await apiCall("POST", "/api/me/pairing-code", token);
    return { token, id: me.user.id, code: String(pairing.code) };
  };
  const emma = await child("Emma");
  const tom = await child("Tom");
  const parentEmail = unique("nadia");
  await apiCall("POST", "/api/auth/register", null, { email: parentEmail, password, firstName: "Nadia", lastName: "Garnier", role: "parent" });
  const parent = await login(parentEmail, password);
  await apiCall("POST", "/api/me/children", parent, { code: emma.code });
  await apiCall("POST", "/api/me/children", parent, { code: tom.code });

  // Emma takes a quiz with a question the teacher grades: 2 points automatic, 1 of 2 by hand.
  const title = `Quiz — les listes ${Date.now()}`;
  const created = await apiCall("POST", "/api/assessments", teacher, {
    title,
    type: "quiz",
    questions: [
      { id: "q1", type: "single_choice", prompt: "Une pile est…", options: ["FIFO", "LIFO"], correct: 1, points: 2 },
      { id: "q2", type: "free_text", prompt: "Expliquez ce qu'est une file.", points: 2 },
    ],
  });
  const assessmentId = (created.assessment as { id: number }).id;
  await apiCall("POST", `/api/assessments/${assessmentId}/publish`, teacher, { classId: cls.id });
  const started = (await apiCall("POST", `/api/assessments/${assessmentId}/attempts`, emma.token)) as { attempt: { id: number } };
  await apiCall("POST", `/api/attempts/${started.attempt.id}/submit`, emma.token, { answers: { q1: 1, q2: "Premier arrivé, premier servi." } });
  await apiCall("POST", `/api/attempts/${started.attempt.id}/grade`, teacher, { questions: { q2: { points: 1, feedback: "Il manque un exemple." } } });

  // The parent signs in: the first child is shown, with the grade (3/4 → 15/20) and the date.
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(parentEmail);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/parent/);
  const switcher = page.getByRole("navigation", { name: "Choisir un enfant" });
  await expect(switcher.getByRole("link")).toHaveCount(2);
  await switcher.getByRole("link", { name: "Emma Garnier" }).click();
  await expect(page).toHaveURL(new RegExp(`/parent\\?enfant=${emma.id}$`));
  const shown = page.getByTestId("child");
  await expect(shown).toHaveCount(1);
  await expect(shown.getByRole("heading", { name: /Emma Garnier/, level: 2 })).toBeVisible();
  const results = shown.locator("section", { has: page.getByRole("heading", { name: "Résultats récents" }) });
  await expect(results).toContainText(title);
  await expect(results).toContainText("15/20");
  await expect(results).toContainText(/rendu le \w+ \d+ \w+/);
  await expect(shown.getByRole("heading", { name: "Évaluations à venir" })).toBeVisible();

  // ARIA's summary: counts only.
  const aria = shown.getByTestId("aria-summary");
  await expect(aria.getByRole("heading", { name: "ARIA, son tuteur" })).toBeVisible();
  await expect(aria).toContainText("Questions, 7 derniers jours");
  await expect(aria).toContainText("Jamais");
  await expect(aria).toContainText("Aucun signalement");
  await checkA11y(page, testInfo, "parent-enfant");
  await screenshot(page, testInfo, "parent-enfant");

  // The other child, with the keyboard; the choice is in the URL and survives a reload.
  await switcher.getByRole("link", { name: "Tom Garnier" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/parent\\?enfant=${tom.id}$`));
  await expect(shown.getByRole("heading", { name: /Tom Garnier/, level: 2 })).toBeVisible();
  await expect(switcher.getByRole("link", { name: "Tom Garnier" })).toHaveAttribute("aria-current", "page");
  // Tom has the quiz to do, not Emma's grade.
  const tomResults = shown.locator("section", { has: page.getByRole("heading", { name: "Résultats récents" }) });
  await expect(tomResults).toContainText("Aucun résultat pour l'instant.");
  await expect(shown).not.toContainText("15/20");
  await expect(shown.locator("section", { has: page.getByRole("heading", { name: "Évaluations à venir" }) })).toContainText(title);
  await page.reload();
  await expect(page.getByTestId("child").getByRole("heading", { name: /Tom Garnier/, level: 2 })).toBeVisible();
  await checkA11y(page, testInfo, "parent-enfant-2");

  // "Écrire à un enseignant" opens the conversation with the teacher.
  await page.getByTestId("teachers").getByRole("link", { name: "Écrire à Paul Lefèvre" }).click();
  await expect(page).toHaveURL(/\/messages\/\d+$/);
  await expect(page.getByRole("heading", { name: "Paul Lefèvre", level: 2 })).toBeVisible();
  await page.getByLabel("Votre message").fill("Bonjour, Tom sera absent jeudi.");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await expect(page.getByTestId("message").filter({ hasText: "Tom sera absent jeudi" })).toHaveAttribute("data-status", "sent");
  const conversationId = Number(new URL(page.url()).pathname.split("/").pop());
  const history = (await apiCall("GET", `/api/conversations/${conversationId}/messages`, teacher)) as { messages: { body: string }[] };
  expect(history.messages.map((m) => m.body)).toEqual(["Bonjour, Tom sera absent jeudi."]);
  await checkA11y(page, testInfo, "parent-messages");
});
