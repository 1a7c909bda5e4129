import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, login, screenshot, unique } from "./helpers";

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
  await page.getByLabel("Mot de passe").fill("Girafe-Violette-42");
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

test("l'enseignant arrive sur son espace (à venir)", async ({ page }, testInfo) => {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill("teacher@nexus-reussite.fr");
  await page.getByLabel("Mot de passe").fill(process.env.DEMO_PASSWORD ?? "NexusDemo2026!");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/enseignant$/);
  await expect(page.getByRole("heading", { name: "Espace enseignant" })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant");
  // A student page is not for a teacher: back to their own.
  await page.goto("/eleve");
  await expect(page).toHaveURL(/\/enseignant$/);
});
