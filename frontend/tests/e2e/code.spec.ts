import { expect, test, type Locator, type Page } from "@playwright/test";
import { API, apiCall, checkA11y, createClass, createTeacher, expectFitsScreen, PASSWORD, registerStudent, screenshot, signIn } from "./helpers";

// Code questions that run (issue #15): a fresh teacher's TP with a code question (visible
// and hidden tests, through the API); a fresh student writes code in the editor (Tab
// indents, Échap then Tab leaves), runs it against the visible tests ("Exécuter les
// tests": a syntax error, a failing test with expected vs actual, then all passing),
// hits the 20-runs-a-minute limit, hands in, and reads the grade with each test's
// points, the hidden test only as "Test caché 1".

const HIDDEN_CALL = "somme_paires([10, 20, 7])";
const WIDE = "# " + "une ligne de commentaire très longue ".repeat(5);

async function setup(label: string) {
  const teacher = await createTeacher("Claire");
  const cls = await createClass(teacher.token, `Terminale NSI — code ${label} ${Date.now()}`);
  const student = await registerStudent("Hugo", "Bernard");
  await apiCall("POST", "/api/classes/join", student.token, { code: cls.joinCode });
  const title = `TP listes ${label} ${Date.now().toString(36)}`;
  const created = await apiCall("POST", "/api/assessments", teacher.token, {
    title,
    type: "tp",
    questions: [
      {
        id: "paires",
        type: "code",
        prompt: "Écrire `somme_paires(t)` qui renvoie la somme des éléments **pairs** de la liste `t`.",
        points: 4,
        starter: "def somme_paires(t):\n    pass\n",
        reference: "def somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n",
        tests: [
          { name: "liste simple", call: "somme_paires([1, 2, 3, 4])", expected: "6" },
          { name: "liste vide", call: "somme_paires([])", expected: "0" },
          { name: "grand test", call: HIDDEN_CALL, expected: "30", hidden: true, points: 2 },
        ],
      },
    ],
  });
  const id = (created.assessment as { id: number }).id;
  await apiCall("PATCH", `/api/assessments/${id}`, teacher.token, { answersReleased: true });
  await apiCall("POST", `/api/assessments/${id}/publish`, teacher.token, { classId: cls.id, closesAt: new Date(Date.now() + 7 * 24 * 3600_000).toISOString() });
  return { teacher, student, id, title };
}

/** The editor's text as CodeMirror shows it, one line per `.cm-line`. */
async function editorText(editor: Locator): Promise<string> {
  return editor.evaluate((el) => Array.from(el.querySelectorAll(".cm-line"), (line) => line.textContent ?? "").join("\n"));
}

/** Replaces the editor's whole text as if pasted. */
async function replaceCode(page: Page, editor: Locator, code: string): Promise<void> {
  await editor.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.insertText(code);
}

test("(c1) l'élève exécute son code sur les tests visibles, corrige, rend et voit les tests cachés sans leur contenu @phone", async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const phone = testInfo.project.name === "phone";
  const { student, id, title } = await setup(testInfo.project.name);

  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  await page.goto(`/eleve/evaluations/${id}`);
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await page.getByRole("button", { name: "Commencer" }).click();

  const question = page.getByTestId("question-paires");
  const editor = question.getByTestId("code-editor");
  // The starter (the function's signature) is in the editor; the visible tests are listed,
  // the hidden one only counted.
  await expect.poll(() => editorText(editor)).toBe("def somme_paires(t):\n    pass\n");
  await expect(question.getByTestId("aide-editeur")).toContainText("Tab indente de 4 espaces");
  await expect(question.getByTestId("execution")).toContainText("liste simple : somme_paires([1, 2, 3, 4]) → 6");
  await expect(question.getByTestId("tests-caches")).toHaveText("1 test caché compte aussi dans la note, à la remise de la copie.");
  await expect(page.getByText(HIDDEN_CALL)).toHaveCount(0);
  const run = question.getByRole("button", { name: /Exécuter les tests/ });
  const status = question.getByTestId("etat-execution");
  await expect(status).toHaveAttribute("role", "status");

  // A syntax error: said once, above the tests.
  await replaceCode(page, editor, "def somme_paires(t)\n    return 0\n");
  await run.click();
  await expect(status).toContainText(/^0\/2 tests réussis \(en \d+,\d s\)\.$/);
  await expect(question.getByTestId("erreur-compilation")).toHaveAttribute("role", "alert");
  await expect(question.getByTestId("erreur-compilation")).toContainText("SyntaxError ligne 1");

  // Keyboard: the wrong solution written with Tab for the indentation (4 spaces), Maj+Tab
  // dedents; Échap then Tab leaves the editor for the run button, Entrée runs.
  await replaceCode(page, editor, "def somme_paires(t):\nreturn sum(t)");
  await page.keyboard.press("Tab");
  await expect.poll(() => editorText(editor)).toBe("def somme_paires(t):\n    return sum(t)");
  await page.keyboard.press("Shift+Tab");
  await expect.poll(() => editorText(editor)).toBe("def somme_paires(t):\nreturn sum(t)");
  await page.keyboard.press("Tab");
  await expect.poll(() => editorText(editor)).toBe("def somme_paires(t):\n    return sum(t)");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Tab");
  await expect(run).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(status).toContainText(/^1\/2 tests réussis/);
  const results = question.getByTestId("resultats-execution").getByTestId("resultat-test");
  await expect(results).toHaveCount(2);
  const failing = results.nth(0);
  await expect(failing).toContainText("liste simple");
  await expect(failing).toContainText("Échoué");
  await expect(failing.getByTestId("attendu")).toHaveText("6");
  await expect(failing.getByTestId("obtenu")).toHaveText("10");
  await expect(results.nth(1)).toContainText("Réussi");
  await expect(question.getByTestId("erreur-compilation")).toHaveCount(0);
  await checkA11y(page, testInfo, "evaluation-code-echec");
  await screenshot(page, testInfo, "evaluation-code-execution");

  // A long line scrolls the editor, not the page.
  await replaceCode(page, editor, `${WIDE}\ndef somme_paires(t):\n    return sum(x for x in t if x % 2 == 0)\n`);
  await expectFitsScreen(page);
  await run.click();
  await expect(status).toContainText(/^2\/2 tests réussis/);
  await expect(question.getByTestId("resultats-execution").getByText("Échoué")).toHaveCount(0);
  await expect(question.getByTestId("resultats-execution").getByText("Réussi")).toHaveCount(2);
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "evaluation-code-reussi");

  if (!phone) {
    // Over 20 runs a minute: the API's 429, said with the time to wait.
    const attempt = await attemptId(student.token, id);
    let limited = false;
    for (let i = 0; i < 25 && !limited; i++) {
      const res = await fetch(`${API}/api/attempts/${attempt}/run`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${student.token}` },
        body: JSON.stringify({ questionId: "paires", code: "def somme_paires(t):\n    return 0\n" }),
      });
      limited = res.status === 429;
    }
    expect(limited, "the run limit is reached").toBe(true);
    await run.click();
    const refusal = question.getByTestId("erreur-execution");
    await expect(refusal).toHaveAttribute("role", "alert");
    await expect(refusal).toHaveText(/^Trop d'exécutions en peu de temps \(20 par minute au plus\)\. Vous pourrez réessayer dans \d+ s\.$/);
  }

  // Handed in: graded by the server at once, each test with its points; the hidden one
  // only as "Test caché 1", without its call nor its expected value.
  await page.getByRole("button", { name: "Rendre ma copie" }).click();
  await page.getByRole("button", { name: "Confirmer et rendre" }).click();
  const result = page.getByTestId("resultat");
  await expect(result.getByTestId("note")).toHaveText("20/20");
  const graded = result.getByTestId("tests-paires");
  await expect(graded.getByTestId("resume-tests")).toHaveText("3/3 tests réussis");
  const rows = graded.getByTestId("resultat-test");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText("liste simple");
  await expect(rows.nth(0).getByTestId("points-test")).toHaveText("1 / 1 pt");
  await expect(rows.nth(2)).toContainText("Test caché 1");
  await expect(rows.nth(2)).toContainText("son contenu n'est pas communiqué");
  await expect(rows.nth(2).getByTestId("points-test")).toHaveText("2 / 2 pts");
  await expect(page.getByText(HIDDEN_CALL)).toHaveCount(0);
  await expect(rows.nth(2).getByTestId("attendu")).toHaveCount(0);
  expect(await page.content()).not.toContain("[10, 20, 7]");
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "evaluation-code-resultat");
  await screenshot(page, testInfo, "evaluation-code-resultat");
});

test("(c2) une solution en partie fausse : points par test, le test caché échoué sans son contenu", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { student, id } = await setup(`partiel-${testInfo.project.name}`);
  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  await page.goto(`/eleve/evaluations/${id}`);
  await page.getByRole("button", { name: "Commencer" }).click();
  const question = page.getByTestId("question-paires");
  const editor = question.getByTestId("code-editor");
  await expect.poll(() => editorText(editor)).toContain("def somme_paires(t):");
  // Hard-codes the visible answers: both visible tests pass, the hidden one fails.
  await replaceCode(page, editor, "def somme_paires(t):\n    return 6 if t else 0\n");
  await question.getByRole("button", { name: /Exécuter les tests/ }).click();
  await expect(question.getByTestId("etat-execution")).toContainText(/^2\/2 tests réussis/);
  await page.getByRole("button", { name: "Rendre ma copie" }).click();
  await page.getByRole("button", { name: "Confirmer et rendre" }).click();
  const result = page.getByTestId("resultat");
  // 2 of 4 test points → 2 of the question's 4 points → 10/20.
  await expect(result.getByTestId("note")).toHaveText("10/20");
  const rows = result.getByTestId("tests-paires").getByTestId("resultat-test");
  await expect(result.getByTestId("tests-paires").getByTestId("resume-tests")).toHaveText("2/3 tests réussis");
  await expect(rows.nth(2)).toContainText("Test caché 1");
  await expect(rows.nth(2)).toContainText("Échoué");
  await expect(rows.nth(2).getByTestId("points-test")).toHaveText("0 / 2 pts");
  await expect(rows.nth(2).getByTestId("obtenu")).toHaveCount(0);
  expect(await page.content()).not.toContain("[10, 20, 7]");
});

test("(c3) l'élève demande un indice à ARIA sur sa question de code : ARIA reçoit la tentative et la question", async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const { student, id } = await setup(`aria-${testInfo.project.name}`);
  await page.addInitScript(() => {
    const w = window as unknown as { __ariaBodies: string[] };
    w.__ariaBodies = [];
    const original = window.fetch.bind(window);
    window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (request.url.endsWith("/api/aria/chat/stream")) w.__ariaBodies.push(await request.clone().text());
      return original(request);
    };
  });
  await signIn(page, student.email, PASSWORD, /\/eleve$/);
  await page.goto(`/eleve/evaluations/${id}`);
  await page.getByRole("button", { name: "Commencer" }).click();
  const question = page.getByTestId("question-paires");
  const editor = question.getByTestId("code-editor");
  await expect.poll(() => editorText(editor)).toContain("def somme_paires(t):");
  await replaceCode(page, editor, "def somme_paires(t):\n    return sum(t)\n");
  await question.getByRole("button", { name: /Exécuter les tests/ }).click();
  await expect(question.getByTestId("etat-execution")).toContainText(/^1\/2 tests réussis/);

  // A TP: hints only. The panel opens under the question, loaded on demand.
  const open = question.getByRole("button", { name: "Demander un indice à ARIA" });
  await expect(open).toHaveAttribute("aria-expanded", "false");
  await open.click();
  await expect(question.getByRole("button", { name: "Fermer ARIA" })).toHaveAttribute("aria-expanded", "true");
  const panel = question.getByTestId("indice-aria");
  await expect(panel.getByRole("heading", { level: 3, name: "ARIA — un indice sur cette question" })).toBeVisible();
  await checkA11y(page, testInfo, "evaluation-code-indice-aria");

  // The question goes with the attempt and the question: ARIA (not the page) reads the
  // latest run and the first failing visible test (services/aria/tests/aria/code_context.rs
  // checks what the model receives). The body is read where the page sends it (a fetch
  // of a Request object, whose body Playwright's request events do not show).
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/aria/chat/stream") && r.request().method() === "POST");
  const input = panel.getByLabel("Ta question");
  await input.fill("Pourquoi mon test « liste simple » échoue-t-il ?");
  await input.press("Enter");
  expect((await answered).status()).toBe(200);
  const attempt = await attemptId(student.token, id);
  const bodies = await page.evaluate(() => (window as unknown as { __ariaBodies: string[] }).__ariaBodies);
  expect(bodies.map((b) => (JSON.parse(b) as { context?: unknown }).context)).toEqual([{ attemptId: attempt, questionId: "paires" }]);
  const answer = panel.getByTestId("aria-answer").last();
  await expect(answer).toHaveAttribute("data-state", "done", { timeout: 240_000 });
  await expect(answer.getByTestId("aria-answer-text")).not.toBeEmpty();
  await screenshot(page, testInfo, "evaluation-code-indice-aria");
});

/** The attempt in progress (starting again answers it, 200). */
async function attemptId(token: string, assessment: number): Promise<number> {
  const json = await apiCall("POST", `/api/assessments/${assessment}/attempts`, token, {});
  return (json.attempt as { id: number }).id;
}
