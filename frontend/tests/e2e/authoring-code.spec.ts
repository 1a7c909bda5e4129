import { expect, test, type Locator } from "@playwright/test";
import { apiCall, checkA11y, createTeacher, PASSWORD, screenshot, signIn } from "./helpers";

// Authoring a code question's tests and reference solution in the teacher's builder
// (/enseignant/evaluations/nouvelle): the API runs the reference against every test when
// the assessment is saved and refuses it, naming the test, when it fails one.

type Saved = { assessment: { questions: { type: string; tests?: { name: string; call?: string; expected: string; hidden?: boolean; points?: number }[]; reference?: string }[] } };

async function fillTest(test: Locator, name: string, call: string, expected: string): Promise<void> {
  await test.getByLabel("Nom", { exact: true }).fill(name);
  await test.getByLabel("Appel", { exact: true }).fill(call);
  await test.getByLabel("Résultat attendu", { exact: true }).fill(expected);
}

test("(ac1) un enseignant écrit les tests et la solution de référence d'une question de code ; l'API refuse une référence qui échoue", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  const teacher = await createTeacher("Inès");
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  await page.goto("/enseignant/evaluations/nouvelle");
  await expect(page.getByRole("heading", { level: 1, name: "Nouvelle évaluation" })).toBeVisible();

  const title = `TP somme des pairs ${Date.now().toString(36)}`;
  await page.getByLabel("Titre", { exact: true }).fill(title);
  await page.getByLabel("Type", { exact: true }).selectOption("tp");
  const q = page.getByTestId("question").first();
  await q.getByLabel("Type de question").selectOption("code");
  await q.getByLabel("Énoncé").fill("Écrire `somme_paires(t)` qui renvoie la somme des éléments pairs de `t`.");
  await q.getByLabel("Code de départ (facultatif)").fill("def somme_paires(t):\n    pass\n");
  await expect(q.getByText("Aucun test : vous corrigerez ce code à la main.")).toBeVisible();

  // Three tests: "Ajouter un test" puts the focus in the new test's call.
  const tests = q.getByTestId("code-test");
  for (let i = 0; i < 3; i += 1) {
    await q.getByRole("button", { name: "Ajouter un test" }).click();
    await expect(tests.nth(i).getByLabel("Appel", { exact: true })).toBeFocused();
  }
  await fillTest(tests.nth(0), "liste simple", "somme_paires([1, 2, 3, 4])", "6");
  await fillTest(tests.nth(1), "liste vide", "somme_paires([])", "0");
  await tests.nth(2).getByLabel("Nom", { exact: true }).fill("grand test");
  await tests.nth(2).getByLabel("Caché").check();
  await tests.nth(2).getByLabel("Points", { exact: true }).fill("2");
  await expect(tests.nth(2).locator("legend")).toHaveText("Test 3 (caché)");

  // The empty call is caught before sending, on its field.
  await page.getByRole("button", { name: "Créer l'évaluation" }).click();
  const call3 = tests.nth(2).getByLabel("Appel", { exact: true });
  await expect(call3).toHaveAttribute("aria-invalid", "true");
  await expect(tests.nth(2).getByText("Écrivez l'appel à tester, par exemple somme([1, 2]).")).toBeVisible();
  await expect(call3).toBeFocused();
  await call3.fill("somme_paires(list(range(10)))");
  await tests.nth(2).getByLabel("Résultat attendu", { exact: true }).fill("20");

  // A reference solution that sums every element fails "liste simple": the API's refusal
  // names the test, on the reference field, which gets the focus.
  const reference = q.getByLabel("Solution de référence (facultatif)");
  await reference.fill("def somme_paires(t):\n    return sum(t)\n");
  await page.getByRole("button", { name: "Créer l'évaluation" }).click();
  await expect(reference).toHaveAttribute("aria-invalid", "true");
  const refusal = q.locator(`#${await reference.getAttribute("id")}-erreur`);
  await expect(refusal).toContainText("la solution de référence échoue au test « liste simple »");
  await expect(refusal).toContainText("attendu 6, obtenu 10");
  await expect(reference).toBeFocused();
  await expect(page).toHaveURL(/\/enseignant\/evaluations\/nouvelle$/);
  await checkA11y(page, testInfo, "enseignant-evaluation-code-refus");
  await screenshot(page, testInfo, "enseignant-evaluation-code-refus");

  // Fixed: saved.
  await reference.fill("def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n");
  await expect(reference).not.toHaveAttribute("aria-invalid", "true");
  await page.getByRole("button", { name: "Créer l'évaluation" }).click();
  await expect(page).toHaveURL(/\/enseignant\/evaluations\/\d+\?vue=publication/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  const saved = (await apiCall("GET", `/api/assessments/${id}`, teacher.token)) as unknown as Saved;
  expect(saved.assessment.questions[0]!.tests).toEqual([
    { name: "liste simple", call: "somme_paires([1, 2, 3, 4])", expected: "6", hidden: false, points: 1 },
    { name: "liste vide", call: "somme_paires([])", expected: "0", hidden: false, points: 1 },
    { name: "grand test", call: "somme_paires(list(range(10)))", expected: "20", hidden: true, points: 2 },
  ]);

  // Reloaded: the tests and the reference solution are in the editor.
  await page.goto(`/enseignant/evaluations/${id}?vue=questions`);
  const again = page.getByTestId("question").first();
  const loaded = again.getByTestId("code-test");
  await expect(loaded).toHaveCount(3);
  await expect(loaded.nth(0).getByLabel("Nom", { exact: true })).toHaveValue("liste simple");
  await expect(loaded.nth(0).getByLabel("Appel", { exact: true })).toHaveValue("somme_paires([1, 2, 3, 4])");
  await expect(loaded.nth(0).getByLabel("Résultat attendu", { exact: true })).toHaveValue("6");
  await expect(loaded.nth(0).getByLabel("Caché")).not.toBeChecked();
  await expect(loaded.nth(1).getByLabel("Nom", { exact: true })).toHaveValue("liste vide");
  await expect(loaded.nth(2).getByLabel("Appel", { exact: true })).toHaveValue("somme_paires(list(range(10)))");
  await expect(loaded.nth(2).getByLabel("Caché")).toBeChecked();
  await expect(loaded.nth(2).getByLabel("Points", { exact: true })).toHaveValue("2");
  await expect(again.getByLabel("Solution de référence (facultatif)")).toHaveValue("def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n");
  await expect(again.getByLabel("Code de départ (facultatif)")).toHaveValue("def somme_paires(t):\n    pass\n");

  // Removing a test and saving again (PUT) keeps the rest.
  await loaded.nth(1).getByRole("button", { name: "Retirer le test 2" }).click();
  await expect(loaded).toHaveCount(2);
  await expect(loaded.nth(1).getByLabel("Nom", { exact: true })).toBeFocused();
  await page.getByRole("button", { name: "Enregistrer", exact: true }).click();
  await expect(page.getByText("Modifications enregistrées.")).toBeVisible();
  const resaved = (await apiCall("GET", `/api/assessments/${id}`, teacher.token)) as unknown as Saved;
  expect(resaved.assessment.questions[0]!.tests!.map((t) => t.name)).toEqual(["liste simple", "grand test"]);
  await checkA11y(page, testInfo, "enseignant-evaluation-code");
  await screenshot(page, testInfo, "enseignant-evaluation-code");
});
