import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, mailedLink, screenshot, unique } from "./helpers";

test("(f) mot de passe oublié : demande, lien reçu par e-mail, nouveau mot de passe, connexion", async ({ page }, testInfo) => {
  const email = unique("lucas");
  await apiCall("POST", "/api/auth/register", null, {
    email,
    password: "Girafe-Violette-42",
    firstName: "Lucas",
    lastName: "Bernard",
    role: "student",
    classLevel: "premiere",
  });

  await page.goto("/connexion");
  await page.getByRole("link", { name: "Mot de passe oublié ?" }).click();
  await expect(page).toHaveURL(/\/mot-de-passe-oublie$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mot de passe oublié" })).toBeVisible();
  await checkA11y(page, testInfo, "mot-de-passe-oublie");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByRole("button", { name: "Recevoir le lien" }).click();
  await expect(page.getByRole("status")).toContainText(`Si un compte existe pour ${email}`);

  const link = await mailedLink(email, "reinitialiser-mot-de-passe");
  // The link of the mail is the web app's own page.
  expect(new URL(link).pathname).toBe("/reinitialiser-mot-de-passe");
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Choisir un nouveau mot de passe" })).toBeVisible();
  // The token leaves the address bar once read.
  await expect(page).toHaveURL(/\/reinitialiser-mot-de-passe$/);
  await checkA11y(page, testInfo, "reinitialiser-mot-de-passe");
  await screenshot(page, testInfo, "reinitialiser-mot-de-passe");

  // Two different passwords: said on the field, nothing sent.
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill("Koala-Turquoise-77");
  await page.getByLabel("Confirmer le mot de passe").fill("Koala-Turquoise-78");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByText("Les deux mots de passe ne sont pas identiques.")).toBeVisible();
  // A password the API refuses: its French message on the field.
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill("court");
  await page.getByLabel("Confirmer le mot de passe").fill("court");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /\S/ })).toBeVisible();
  await expect(page.getByLabel("Nouveau mot de passe", { exact: true })).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill("Koala-Turquoise-77");
  await page.getByLabel("Confirmer le mot de passe").fill("Koala-Turquoise-77");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByRole("status")).toContainText("Mot de passe modifié");

  // The same link a second time: refused (single use).
  await page.goto(link);
  await page.getByLabel("Nouveau mot de passe", { exact: true }).fill("Lama-Orange-55-bis");
  await page.getByLabel("Confirmer le mot de passe").fill("Lama-Orange-55-bis");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /\S/ })).toBeVisible();
  await expect(page.getByRole("link", { name: "Demander un nouveau lien" })).toBeVisible();

  // The old password no longer opens the account; the new one does.
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe", { exact: true }).fill("Girafe-Violette-42");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /\S/ })).toBeVisible();
  await page.getByLabel("Mot de passe", { exact: true }).fill("Koala-Turquoise-77");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
});
