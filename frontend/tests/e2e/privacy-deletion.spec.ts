import { expect, test } from "@playwright/test";
import { PASSWORD, checkA11y, expectFitsScreen, registerStudent, screenshot, signIn } from "./helpers";

// Issue #17: a student asks for the deletion of their account from /parametres/compte
// (password typed again, confirmation dialog); the account is disabled at once and
// signing in says when it will be erased, and offers to cancel it.
test("supprimer mon compte : mot de passe, confirmation, compte désactivé avec la date d'effacement", async ({ page }, testInfo) => {
  const student = await registerStudent("Ines");
  await signIn(page, student.email, PASSWORD, /\/eleve/);
  await page.goto("/parametres/compte");
  await expect(page.getByRole("heading", { level: 1, name: "Mon compte" })).toBeVisible();
  await checkA11y(page, testInfo, "compte");
  await expectFitsScreen(page);
  await screenshot(page, testInfo, "compte-suppression");

  // Empty, then a wrong password: the French error on the field, nothing done.
  await page.getByRole("button", { name: "Supprimer mon compte" }).click();
  await expect(page.getByText("Saisissez votre mot de passe pour confirmer.")).toBeVisible();
  await page.getByLabel("Mot de passe").fill("Pas-le-bon-42");
  await page.getByRole("button", { name: "Supprimer mon compte" }).click();
  await page.getByRole("button", { name: "Oui, supprimer mon compte" }).click();
  await expect(page.getByRole("alertdialog").getByText("Mot de passe incorrect.")).toBeVisible();
  await page.getByRole("alertdialog").getByRole("button", { name: "Annuler" }).click();
  await expect(page.locator("#delete-password-erreur")).toHaveText("Mot de passe incorrect.");

  await page.getByLabel("Mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Supprimer mon compte" }).click();
  await checkA11y(page, testInfo, "compte-confirmation");
  await page.getByRole("button", { name: "Oui, supprimer mon compte" }).click();
  await expect(page).toHaveURL(/\/connexion/);

  // Signing in again is refused with the erasure date and how to cancel.
  await page.getByLabel("Adresse e-mail").fill(student.email);
  await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByText(/sera effacé définitivement le \d{1,2} \S+ \d{4}/)).toBeVisible();
  const cancel = page.getByRole("button", { name: "Annuler la suppression" });
  await expect(cancel).toBeVisible();
  await checkA11y(page, testInfo, "connexion-suppression-en-attente");
  await screenshot(page, testInfo, "connexion-suppression-en-attente");

  // The holder cancels it from the sign-in page, with the credentials just typed, and
  // signs in again.
  await cancel.click();
  await expect(page.getByRole("status").filter({ hasText: "Vous pouvez vous connecter." })).toBeVisible();
  await expect(cancel).toHaveCount(0);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
});
