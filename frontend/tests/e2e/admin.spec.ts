import { expect, test, type Page } from "@playwright/test";
import { apiCall, checkA11y, createClass, createTeacher, DEMO_PASSWORD, expectFitsScreen, login, newBrowserPage, PASSWORD, registerStudent, screenshot, signIn, unique } from "./helpers";

// The admin's pages (/admin, /admin/utilisateurs) and ARIA's oversight for teachers
// (/enseignant/aria): docs/FRONTEND.md, "Admin and ARIA oversight".

const ADMIN = "admin@nexus-reussite.fr";

/** ARIA through the web app's origin (Next rewrites /api/aria/* to ARIA). */
async function ariaCall(page: Page, method: "GET" | "POST", path: string, token: string, data?: unknown) {
  const res = await page.request.fetch(path, { method, headers: { authorization: `Bearer ${token}` }, timeout: 120_000, ...(data === undefined ? {} : { data }) });
  expect(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`).toBe(true);
  return (await res.json()) as Record<string, unknown>;
}

test("(a1) un élève écrit un message signalé : son enseignant l'examine dans « ARIA », lit la conversation et change le budget de la classe", async ({
  page,
}, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  test.setTimeout(180_000);
  const teacher = await createTeacher();
  const cls = await createClass(teacher.token, `Terminale NSI — ARIA ${Date.now().toString(36)}`);
  const student = await registerStudent("Inès", "Garnier");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });

  // The student writes something ARIA's moderation flags (its local rules: distress).
  // ARIA answers with its support message, without the model, and stores a flag.
  const distress = "J'ai envie de mourir, je n'arrive plus à rien en NSI";
  const answer = (await ariaCall(page, "POST", "/api/aria/chat", student.token, { message: distress })) as { sessionId: string };
  const sessionId = answer.sessionId;
  expect(sessionId).toBeTruthy();

  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "ARIA" }).click();
  await expect(page).toHaveURL(/\/enseignant\/aria$/);
  await expect(page.getByRole("heading", { level: 1, name: "Suivi d'ARIA" })).toBeVisible();
  // The same sentence ARIA shows the student.
  await expect(page.getByTestId("oversight-notice")).toContainText("Tes enseignants peuvent lire tes conversations avec ARIA, et tes parents en voient un résumé.");

  const flags = page.getByRole("region", { name: "Signalements" });
  const flag = flags.getByTestId("flag").filter({ hasText: "Inès Garnier" });
  await expect(flag).toHaveCount(1);
  await expect(flag.getByRole("heading", { name: "Inès Garnier — Détresse, idées suicidaires" })).toBeVisible();
  await expect(flag).toContainText(distress);
  await expect(flag).toContainText("Question de l'élève");
  // The usage of the class: ARIA's default budget, the student listed.
  const usage = page.getByRole("region", { name: "Utilisation et budget par classe" });
  await expect(usage.getByRole("row", { name: /Inès Garnier/ })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-aria");
  await screenshot(page, testInfo, "enseignant-aria");

  // Read the conversation from the flag: the question and ARIA's support answer.
  await flag.getByRole("button", { name: "Lire la conversation de Inès Garnier" }).click();
  const conversation = page.getByRole("region", { name: "Conversations de Inès Garnier avec ARIA" });
  await expect(conversation.getByRole("heading", { level: 2 })).toBeFocused();
  const transcript = conversation.getByTestId("transcript");
  await expect(transcript).toContainText(distress);
  await expect(transcript).toContainText("3114");
  await checkA11y(page, testInfo, "enseignant-aria-conversation");

  // Review it: it leaves the open list, and ARIA has it reviewed.
  await flag.getByRole("button", { name: /Marquer comme examiné/ }).click();
  await expect(flags.getByText("Signalement de Inès Garnier marqué comme examiné.")).toBeVisible();
  await expect(flags.getByTestId("flag").filter({ hasText: "Inès Garnier" })).toHaveCount(0);
  const all = (await ariaCall(page, "GET", "/api/aria/flags?status=all&limit=100", teacher.token)) as { flags: { sessionId: string; reviewedAt: string | null }[] };
  const reviewed = all.flags.filter((f) => f.sessionId === sessionId);
  expect(reviewed).toHaveLength(1);
  expect(reviewed[0]!.reviewedAt).toBeTruthy();
  await flags.getByRole("button", { name: "Tous" }).click();
  await expect(flags.getByTestId("flag").filter({ hasText: "Inès Garnier" })).toContainText("Examiné le");

  // A budget the API refuses, then a new class budget: what ARIA reports afterwards.
  const budget = usage.getByLabel("Budget quotidien de la classe (jetons)");
  await budget.fill("beaucoup");
  await usage.getByRole("button", { name: "Enregistrer le budget", exact: true }).click();
  await expect(budget).toHaveAttribute("aria-invalid", "true");
  await budget.fill("12 345");
  await usage.getByRole("button", { name: "Enregistrer le budget", exact: true }).click();
  await expect(usage.getByRole("status").filter({ hasText: /Budget quotidien de Terminale NSI — ARIA .* : 12\s345 jetons\./ })).toBeVisible();
  await expect(usage.getByTestId("aria-class-budget")).toHaveText(/^12\s345$/);
  const reported = (await ariaCall(page, "GET", `/api/aria/classes/${cls.id}/usage`, teacher.token)) as { dailyTokens: number; students: { studentId: number }[] };
  expect(reported.dailyTokens).toBe(12345);
  expect(reported.students.map((s) => s.studentId)).toContain(student.id);
  await checkA11y(page, testInfo, "enseignant-aria-budget");
});

test("(a2) l'administrateur cherche un compte, le désactive — l'élève connecté ailleurs est déconnecté et ne peut plus entrer — puis le réactive", async ({
  page,
  browser,
}, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  test.setTimeout(120_000);
  const lastName = `Lemaire-${Date.now().toString(36)}`;
  const name = `Hugo ${lastName}`;
  const student = await registerStudent("Hugo", lastName);

  // The student, signed in in a second browser, connected to the hub.
  const other = await newBrowserPage(browser);
  await signIn(other, student.email, PASSWORD, /\/eleve$/);
  await expect(other.getByTestId("connection-state")).toHaveAttribute("data-status", "online");

  await signIn(page, ADMIN, DEMO_PASSWORD, /\/admin$/);
  await expect(page.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
  const accounts = page.getByRole("region", { name: "Comptes" });
  await expect(accounts.getByRole("figure")).toContainText("comptes, par rôle");
  await expect(page.getByRole("region", { name: "ARIA aujourd'hui" }).getByTestId("aria-class-budget")).toBeVisible();
  await checkA11y(page, testInfo, "admin-tableau-de-bord");
  await screenshot(page, testInfo, "admin-tableau-de-bord");

  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Utilisateurs" }).click();
  await expect(page).toHaveURL(/\/admin\/utilisateurs$/);
  await expect(page.getByRole("heading", { level: 1, name: "Utilisateurs" })).toBeVisible();
  await expect(page.getByTestId("user-row").nth(1)).toBeVisible();
  await checkA11y(page, testInfo, "admin-utilisateurs");
  await screenshot(page, testInfo, "admin-utilisateurs");
  const search = page.getByRole("search", { name: "Chercher un compte" });
  await search.getByLabel("Nom ou adresse e-mail").fill(student.email);
  await search.getByRole("button", { name: "Chercher" }).click();
  const row = page.getByTestId("user-row").filter({ hasText: student.email });
  await expect(page.getByTestId("user-row")).toHaveCount(1);
  await expect(row.getByTestId("user-status")).toHaveText("Actif");
  // Filtering by role keeps it (a student), by "Désactivés" hides it.
  await search.getByLabel("Rôle").selectOption("student");
  await expect(row).toBeVisible();
  await search.getByLabel("Statut").selectOption("inactive");
  await expect(page.getByText("Aucun compte ne correspond à cette recherche.")).toBeVisible();
  await search.getByLabel("Statut").selectOption("");
  await expect(row).toBeVisible();
  await checkA11y(page, testInfo, "admin-utilisateurs-recherche");

  // Disable, after the confirmation (Escape first keeps it active).
  await row.getByRole("button", { name: `Désactiver le compte de ${name}` }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText(`Désactiver le compte de ${name} ?`);
  await checkA11y(page, testInfo, "admin-desactiver");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(row.getByTestId("user-status")).toHaveText("Actif");
  await row.getByRole("button", { name: `Désactiver le compte de ${name}` }).click();
  await dialog.getByRole("button", { name: "Désactiver" }).click();
  await expect(dialog).toBeHidden();
  await expect(row.getByTestId("user-status")).toHaveText("Désactivé");

  // The student's tab: the hub closes with 4403, the web app signs out → /connexion.
  await expect(other).toHaveURL(/\/connexion/, { timeout: 20_000 });
  await expect(other.getByRole("button", { name: "Se déconnecter" })).toHaveCount(0);
  // Signing in again: the API's French message.
  await other.getByLabel("Adresse e-mail").fill(student.email);
  await other.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await other.getByRole("button", { name: "Se connecter" }).click();
  await expect(other.locator("main").getByRole("alert")).toHaveText("Ce compte est désactivé. Contactez l'administration de votre établissement.");
  await expect(other).toHaveURL(/\/connexion/);
  await checkA11y(other, testInfo, "connexion-compte-desactive");

  // Re-enable: the student can sign in again.
  await row.getByRole("button", { name: `Réactiver le compte de ${name}` }).click();
  await dialog.getByRole("button", { name: "Réactiver" }).click();
  await expect(row.getByTestId("user-status")).toHaveText("Actif");
  await other.getByRole("button", { name: "Se connecter" }).click();
  await expect(other).toHaveURL(/\/eleve$/);
  await other.context().close();
});

test("(a3) l'administrateur change le rôle d'un compte et crée un compte enseignant (erreurs de l'API sur les champs)", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  const admin = await login(ADMIN);
  const parentEmail = unique("parent");
  await apiCall("POST", "/api/auth/register", null, { email: parentEmail, password: PASSWORD, firstName: "Sophie", lastName: "Renard", role: "parent" });

  await signIn(page, ADMIN, DEMO_PASSWORD, /\/admin$/);
  await page.goto("/admin/utilisateurs");
  const search = page.getByRole("search", { name: "Chercher un compte" });
  await search.getByLabel("Nom ou adresse e-mail").fill(parentEmail);
  await search.getByRole("button", { name: "Chercher" }).click();
  const row = page.getByTestId("user-row").filter({ hasText: parentEmail });
  await expect(row).toHaveCount(1);
  await row.getByLabel("Rôle de Sophie Renard").selectOption("teacher");
  await row.getByRole("button", { name: "Changer le rôle de Sophie Renard" }).click();
  await expect(row.getByText("Sophie Renard est maintenant enseignant.")).toBeVisible();
  const users = (await apiCall("GET", `/api/users?q=${encodeURIComponent(parentEmail)}`, admin)) as { users: { role: string }[] };
  expect(users.users[0]!.role).toBe("teacher");

  // A new teacher account: the API's field errors, then the account.
  const form = page.getByRole("region", { name: "Nouveau compte" });
  await form.getByLabel("Adresse e-mail").fill("pas-une-adresse");
  await form.getByLabel("Mot de passe provisoire").fill("court");
  await form.getByRole("button", { name: "Créer le compte" }).click();
  await expect(form.getByLabel("Adresse e-mail")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByLabel("Mot de passe provisoire")).toHaveAttribute("aria-invalid", "true");
  await checkA11y(page, testInfo, "admin-nouveau-compte-erreurs");
  const email = unique("nouvelle.prof");
  await form.getByLabel("Prénom").fill("Nadia");
  await form.getByLabel("Nom", { exact: true }).fill("Benali");
  await form.getByLabel("Adresse e-mail").fill(email);
  await form.getByLabel("Mot de passe provisoire").fill(PASSWORD);
  await form.getByRole("button", { name: "Créer le compte" }).click();
  await expect(form.getByRole("status")).toContainText(`Compte créé pour Nadia Benali (${email})`);
  const token = await login(email, PASSWORD);
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user: { role: string } };
  expect(me.user.role).toBe("teacher");
});

test("(a4) @phone les utilisateurs et le suivi d'ARIA sur un téléphone", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "phone only");
  await signIn(page, ADMIN, DEMO_PASSWORD, /\/admin$/);
  await page.goto("/admin/utilisateurs");
  await expect(page.getByRole("heading", { level: 1, name: "Utilisateurs" })).toBeVisible();
  await expect(page.getByTestId("user-row").first()).toBeVisible();
  // Nothing wider than the screen (a phone's layout viewport grows to fit what is wider).
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "admin-utilisateurs-telephone");
  await page.goto("/enseignant/aria");
  await expect(page.getByRole("heading", { level: 1, name: "Suivi d'ARIA" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Signalements" }).getByRole("button", { name: "À examiner" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Utilisation et budget par classe" }).getByTestId("aria-class-usage")).toBeVisible();
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "enseignant-aria-telephone");
  await screenshot(page, testInfo, "enseignant-aria");
});
