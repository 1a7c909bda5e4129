import { expect, test } from "@playwright/test";
import {
  PASSWORD,
  apiCall,
  checkA11y,
  expectFitsScreen,
  login,
  mailedLink,
  newBrowserPage,
  screenshot,
  signIn,
  unique,
} from "./helpers";

/** A birth date `years` years ago today (minus a day), as the date input takes it. */
function bornYearsAgo(years: number): string {
  const d = new Date();
  d.setFullYear(d.getFullYear() - years);
  d.setDate(d.getDate() - 1);
  return d.toISOString().slice(0, 10);
}

// Issue #17, item 1, in the browser: the birth date asked at registration, the address
// confirmed from the mailed link, a parent's consent opening ARIA to a child under 15,
// its withdrawal, and the admin's audit log recording who did it.
test("(consent) un élève de 13 ans s'inscrit, son parent confirme son adresse et donne son accord, l'admin le lit au journal", async ({
  page,
  browser,
}, testInfo) => {
  const studentEmail = unique("noah");

  // Registration: the form checks the confirmation and asks the birth date.
  await page.goto("/inscription");
  await page.getByLabel("Élève").check();
  await page.getByLabel("Prénom").fill("Noah");
  await page.getByLabel("Nom", { exact: true }).fill("Lefèvre");
  await page.getByLabel("Adresse e-mail").fill(studentEmail);
  await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill("Autre-Chose-2026");
  await page.getByRole("button", { name: "Créer un compte" }).click();
  await expect(page.getByLabel("Confirmer le mot de passe")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Les deux mots de passe ne sont pas identiques.")).toBeVisible();
  await page.getByLabel("Confirmer le mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Créer un compte" }).click();
  await expect(page.getByLabel("Date de naissance")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Date de naissance").fill(bornYearsAgo(13));
  await checkA11y(page, testInfo, "inscription-date-de-naissance");
  await page.getByRole("button", { name: "Créer un compte" }).click();
  await expect(page).toHaveURL(/\/eleve$/);

  // The dashboard says what waits for a parent, and that the address is to confirm.
  await expect(page.getByTestId("consent-notice")).toContainText("ARIA et la messagerie attendent l'accord d'un parent");
  await expect(page.getByTestId("email-verification")).toContainText(studentEmail);
  await checkA11y(page, testInfo, "eleve-accord-manquant");
  await screenshot(page, testInfo, "eleve-accord-manquant");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectFitsScreen(page);
  await screenshot(page, testInfo, "eleve-accord-manquant-telephone");
  await page.setViewportSize({ width: 1280, height: 900 });

  // ARIA refuses, with the reason (before any model call).
  const student = await login(studentEmail, PASSWORD);
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "ARIA" }).click();
  await page.getByRole("button", { name: "Nouvelle conversation" }).click();
  const question = page.getByLabel("Ta question");
  await question.fill("Qu'est-ce qu'une liste en Python ?");
  await question.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "un parent lié à ton compte doit donner son accord" })).toBeVisible();
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Tableau de bord" }).click();

  // The student's pairing code, from their dashboard.
  await page.getByRole("button", { name: "Créer un code" }).click();
  await expect(page.getByTestId("pairing-code")).not.toBeEmpty();
  const code = (await page.getByTestId("pairing-code").textContent())!.trim();

  // The parent registers (another device), links the child: the consent card appears.
  const parentEmail = unique("claire");
  const parentPage = await newBrowserPage(browser);
  await parentPage.goto("/inscription");
  await parentPage.getByLabel("Parent").check();
  await parentPage.getByLabel("Prénom").fill("Claire");
  await parentPage.getByLabel("Nom", { exact: true }).fill("Lefèvre");
  await parentPage.getByLabel("Adresse e-mail").fill(parentEmail);
  await parentPage.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await parentPage.getByLabel("Confirmer le mot de passe").fill(PASSWORD);
  await parentPage.getByRole("button", { name: "Créer un compte" }).click();
  await expect(parentPage).toHaveURL(/\/parent$/);
  await parentPage.getByLabel("Code d'appairage").fill(code);
  await parentPage.getByRole("button", { name: "Lier" }).click();
  const consent = parentPage.getByTestId("consent");
  await expect(consent).toContainText("Noah a moins de 15 ans");
  await expect(consent.getByTestId("consent-state")).toContainText("Pas encore d'accord");

  // Consent needs a confirmed address: the API's French refusal is shown.
  await consent.getByRole("button", { name: "Donner mon accord" }).click();
  await expect(consent.getByRole("alert")).toContainText(/adresse/i);
  await expect(parentPage.getByTestId("email-verification")).toBeVisible();
  await checkA11y(parentPage, testInfo, "parent-accord-adresse-a-confirmer");
  await screenshot(parentPage, testInfo, "parent-accord-adresse-a-confirmer");

  // The mailed link confirms the address (the token leaves the address bar).
  const link = await mailedLink(parentEmail, "verifier-email");
  expect(new URL(link).pathname).toBe("/verifier-email");
  await parentPage.goto(link);
  await expect(parentPage.getByRole("heading", { level: 1, name: "Confirmer mon adresse e-mail" })).toBeVisible();
  await expect(parentPage.getByRole("status").filter({ hasText: "Adresse e-mail confirmée" })).toBeVisible();
  await expect(parentPage).toHaveURL(/\/verifier-email$/);
  await checkA11y(parentPage, testInfo, "verifier-email");
  await screenshot(parentPage, testInfo, "verifier-email");
  // The same link a second time: refused, with the way to get another.
  await parentPage.goto(link);
  await expect(parentPage.locator("main").getByRole("alert")).toContainText("Ce lien de vérification est invalide");

  await parentPage.getByRole("link", { name: "Revenir à mon tableau de bord" }).click();
  await expect(parentPage).toHaveURL(/\/parent$/);
  await expect(parentPage.getByTestId("email-verification")).toHaveCount(0);
  await parentPage.getByTestId("consent").getByRole("button", { name: "Donner mon accord" }).click();
  await expect(parentPage.getByTestId("consent-state")).toContainText("Accord donné par Claire Lefèvre");
  await expect(parentPage.getByText("Accord donné : Noah peut utiliser ARIA et la messagerie.")).toBeVisible();
  await checkA11y(parentPage, testInfo, "parent-accord-donne");
  await screenshot(parentPage, testInfo, "parent-accord-donne");

  await parentPage.setViewportSize({ width: 390, height: 844 });
  await expectFitsScreen(parentPage);
  await screenshot(parentPage, testInfo, "parent-accord-donne-telephone");

  // The child's dashboard no longer shows the notice.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Tableau de bord" })).toBeVisible();
  await expect(page.getByTestId("email-verification")).toBeVisible();
  await expect(page.getByTestId("consent-notice")).toHaveCount(0);

  // Withdrawn: closed again at once.
  await parentPage.getByRole("button", { name: "Retirer mon accord" }).click();
  await expect(parentPage.getByTestId("consent-state")).toContainText("Pas encore d'accord");
  const after = await apiCall("GET", `/api/students/${await studentId(student)}/consent`, student);
  expect(after.blocked).toBe(true);

  // The admin's audit log: both acts, by the parent, about the child.
  const id = await studentId(student);
  const admin = await newBrowserPage(browser);
  await signIn(admin, "admin@nexus-reussite.fr", process.env.DEMO_PASSWORD ?? "NexusDemo2026!", /\/admin$/);
  await admin.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Journal" }).click();
  await expect(admin.getByRole("heading", { level: 1, name: "Journal d'audit" })).toBeVisible();
  await admin.getByLabel("Numéro du compte (facultatif)").fill(String(id));
  await admin.getByRole("button", { name: "Filtrer" }).click();
  const rows = admin.getByTestId("audit-log").locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("Accord parental retiré");
  await expect(rows.nth(1)).toContainText("Accord parental donné");
  await expect(rows.nth(0)).toContainText("Claire Lefèvre");
  await expect(rows.nth(0)).toContainText("Noah Lefèvre");
  // A wrong filter: said on the field.
  await admin.getByLabel("Numéro du compte (facultatif)").fill("abc");
  await admin.getByRole("button", { name: "Filtrer" }).click();
  await expect(admin.getByLabel("Numéro du compte (facultatif)")).toHaveAttribute("aria-invalid", "true");
  await checkA11y(admin, testInfo, "admin-journal");
  await screenshot(admin, testInfo, "admin-journal");
  await admin.setViewportSize({ width: 390, height: 844 });
  await expectFitsScreen(admin);
});

async function studentId(token: string): Promise<number> {
  const me = (await apiCall("GET", "/api/auth/me", token)) as { user: { id: number } };
  return me.user.id;
}
