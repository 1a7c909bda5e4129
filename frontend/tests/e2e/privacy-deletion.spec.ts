import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, PASSWORD, apiCall, checkA11y, expectFitsScreen, login, newBrowserPage, registerStudent, screenshot, signIn, unique } from "./helpers";

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

// A parent asks for the deletion of their linked child's account from /parent and
// cancels it; asked again, the admin sees it among the pending deletions and cancels it.
test("un parent demande puis annule la suppression du compte de son enfant ; l'administration voit et annule", async ({ page, browser }, testInfo) => {
  const child = await registerStudent("Jade", "Roussel");
  const pairing = await apiCall("POST", "/api/me/pairing-code", child.token);
  const parentEmail = unique("sophie");
  await apiCall("POST", "/api/auth/register", null, { email: parentEmail, password: PASSWORD, firstName: "Sophie", lastName: "Roussel", role: "parent" });
  await apiCall("POST", "/api/me/children", await login(parentEmail, PASSWORD), { code: pairing.code });

  await signIn(page, parentEmail, PASSWORD, /\/parent$/);
  const panel = page.getByTestId("child-deletion");
  await panel.getByText("Suppression du compte de Jade", { exact: true }).click();
  await panel.getByRole("button", { name: "Demander la suppression du compte de Jade" }).click();
  await panel.getByRole("button", { name: "Supprimer le compte de Jade" }).click();
  await expect(panel.getByText("Saisissez votre mot de passe pour confirmer.")).toBeVisible();
  await panel.getByLabel("Votre mot de passe").fill(PASSWORD);
  await panel.getByRole("button", { name: "Supprimer le compte de Jade" }).click();
  await checkA11y(page, testInfo, "parent-suppression-confirmation");
  await page.getByRole("button", { name: "Oui, supprimer son compte" }).click();
  await expect(panel.getByTestId("child-deletion-state")).toContainText(/sera effacé le \S+ \d{1,2} \S+/);
  // The child is signed out everywhere: their token no longer works.
  await expect(apiCall("GET", "/api/auth/me", child.token)).rejects.toThrow(/401|403/);
  await checkA11y(page, testInfo, "parent-suppression-demandee");
  await screenshot(page, testInfo, "parent-suppression-demandee");

  await panel.getByRole("button", { name: "Annuler la suppression" }).click();
  await expect(panel.getByTestId("child-deletion-state")).toHaveCount(0);
  await expect(panel.getByRole("button", { name: "Demander la suppression du compte de Jade" })).toBeVisible();
  await login(child.email, PASSWORD);

  // Asked again: the admin sees who asked and cancels.
  await panel.getByRole("button", { name: "Demander la suppression du compte de Jade" }).click();
  await panel.getByLabel("Votre mot de passe").fill(PASSWORD);
  await panel.getByRole("button", { name: "Supprimer le compte de Jade" }).click();
  await page.getByRole("button", { name: "Oui, supprimer son compte" }).click();
  await expect(panel.getByTestId("child-deletion-state")).toBeVisible();

  const admin = await newBrowserPage(browser);
  await signIn(admin, "admin@nexus-reussite.fr", DEMO_PASSWORD, /\/admin$/);
  await admin.goto("/admin/utilisateurs");
  const pending = admin.getByTestId("pending-deletions").getByRole("listitem").filter({ hasText: child.email });
  await expect(pending).toContainText("Demandée par un parent");
  await checkA11y(admin, testInfo, "admin-suppressions");
  await screenshot(admin, testInfo, "admin-suppressions-en-attente");
  await pending.getByRole("button", { name: /^Annuler/ }).click();
  await expect(admin.getByTestId("pending-deletions").getByRole("listitem").filter({ hasText: child.email })).toHaveCount(0);
  await login(child.email, PASSWORD);
});
