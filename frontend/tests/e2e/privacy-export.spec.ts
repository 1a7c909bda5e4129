import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, expectFitsScreen, login, PASSWORD, registerStudent, screenshot, signIn, unique } from "./helpers";

// "Mes données" (#17, docs/PRIVACY.md): a student asks for an export of their data, sees
// it go from "En préparation" to "Prêt", downloads the ZIP; a parent asks for their
// linked child's from the parent page.

/** The names in a ZIP, read by a real reader (Python's zipfile). */
function zipNames(path: string): string[] {
  const out = execFileSync("python3", ["-c", "import json, sys, zipfile; print(json.dumps(zipfile.ZipFile(sys.argv[1]).namelist()))", path]);
  return JSON.parse(out.toString()) as string[];
}

/** One file of a ZIP as text. */
function zipText(path: string, name: string): string {
  return execFileSync("python3", ["-c", "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())", path, name]).toString();
}

test("(d1) un élève demande ses données, attend qu'elles soient prêtes et télécharge le ZIP", async ({ page }, testInfo) => {
  const student = await registerStudent("Léa", "Fontaine");
  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  await page.getByRole("link", { name: "Mon compte" }).click();
  await expect(page).toHaveURL(/\/parametres\/donnees$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mes données" })).toBeVisible();
  await expect(page.getByText("Aucun export demandé pour l'instant.")).toBeVisible();
  await expect(page.getByRole("link", { name: "Demander la suppression de mon compte" })).toHaveAttribute("href", "/parametres/compte");

  await page.getByRole("button", { name: "Demander l'export de mes données" }).click();
  await expect(page.getByText("Export demandé. Vous serez notifié dès qu'il sera prêt.")).toBeVisible();
  const row = page.getByTestId("data-export").first();
  // Pending, then ready (the worker takes about a second; the live notification or the
  // page's polling updates the status).
  await expect(row.getByTestId("export-status")).toHaveText("Prêt", { timeout: 20_000 });
  await checkA11y(page, testInfo, "mes-donnees");
  await expectFitsScreen(page);
  await screenshot(page, testInfo, "mes-donnees");

  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: /^Télécharger/ }).click()]);
  expect(download.suggestedFilename()).toMatch(/^nexus-donnees-\d+\.zip$/);
  const path = (await download.path())!;
  const names = zipNames(path);
  expect(names).toContain("profile.json");
  expect(names).toContain("README.txt");
  const profile = JSON.parse(zipText(path, "profile.json")) as { user: { email: string; firstName: string } };
  expect(profile.user.email).toBe(student.email);
  expect(profile.user.firstName).toBe("Léa");

  // A second request while none is pending is allowed; the API's French refusal shows
  // when the limit is reached (3 per 24 hours).
  await apiCall("POST", "/api/me/data-exports", student.token);
  await expect(page.getByTestId("data-export")).toHaveCount(2);
});

test("(d2) un parent demande les données de son enfant depuis sa page", async ({ page }) => {
  const child = await registerStudent("Hugo", "Renard");
  const pairing = (await apiCall("POST", "/api/me/pairing-code", child.token)) as { code: string };
  const parentEmail = unique("sophie");
  await apiCall("POST", "/api/auth/register", null, { email: parentEmail, password: PASSWORD, firstName: "Sophie", lastName: "Renard", role: "parent" });
  const parent = await login(parentEmail, PASSWORD);
  await apiCall("POST", "/api/me/children", parent, { code: String(pairing.code) });

  await signIn(page, parentEmail, PASSWORD, /\/parent$/);
  await page.getByRole("button", { name: /^Télécharger les données de mon enfant/ }).click();
  await expect(page.getByText("Export des données de Hugo demandé.")).toBeVisible();
  await page.getByRole("link", { name: "Le suivre et le télécharger dans « Mes données »" }).click();
  const row = page.getByTestId("data-export").first();
  await expect(row).toContainText("Données de Hugo Renard");
  await expect(row.getByTestId("export-status")).toHaveText("Prêt", { timeout: 20_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: /^Télécharger/ }).click()]);
  const profile = JSON.parse(zipText((await download.path())!, "profile.json")) as { user: { id: number }; excluded: string[] };
  expect(profile.user.id).toBe(child.id);
  expect(profile.excluded).toEqual(["aria_messages", "chat_messages"]);
});
