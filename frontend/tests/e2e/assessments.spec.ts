import { expect, test, type Page } from "@playwright/test";
import { apiCall, checkA11y, createClass, login, screenshot, unique } from "./helpers";

const PASSWORD = "Girafe-Violette-42";

/** A new student (through the API) in a new class of the demo teacher. */
async function studentInClass(label: string) {
  const teacher = await login("teacher@nexus-reussite.fr");
  const cls = await createClass(teacher, `Terminale NSI — ${label} ${Date.now()}`);
  const email = unique("lea");
  await apiCall("POST", "/api/auth/register", null, { email, password: PASSWORD, firstName: "Léa", lastName: "Durand", role: "student", classLevel: "terminale" });
  const student = await login(email, PASSWORD);
  await apiCall("POST", "/api/classes/join", student, { code: cls.joinCode });
  return { teacher, cls, email, student };
}

async function publish(teacher: string, classId: number, body: Record<string, unknown>): Promise<number> {
  const created = await apiCall("POST", "/api/assessments", teacher, body);
  const id = (created.assessment as { id: number }).id;
  const closesAt = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
  await apiCall("POST", `/api/assessments/${id}/publish`, teacher, { classId, closesAt });
  return id;
}

async function signIn(page: Page, email: string) {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
}

/** "29:41" → seconds. */
function seconds(text: string): number {
  const parts = text.trim().split(":").map(Number);
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

test("(f) l'élève passe un quiz de tous les types au clavier et à la souris et voit sa note sur 20 @phone", async ({ page }, testInfo) => {
  const { teacher, cls, email } = await studentInClass("quiz");
  const title = `Quiz : piles et files ${Date.now()}`;
  const id = await publish(teacher, cls.id, {
    title,
    type: "quiz",
    description: "Un quiz rapide sur les **structures linéaires**.",
    questions: [
      { id: "single", type: "single_choice", prompt: "Une pile fonctionne selon le principe…", options: ["FIFO", "LIFO"], correct: 1, points: 2 },
      { id: "multi", type: "multiple_choice", prompt: "Lesquelles sont des structures **LIFO** ?", options: ["une pile", "une file", "la pile d'appels"], correct: [0, 2], points: 2 },
      { id: "tf", type: "true_false", prompt: "Une file est une structure LIFO.", correct: false, points: 1 },
      { id: "short", type: "short_answer", prompt: "Quelle opération retire le sommet d'une pile ?", accepted: ["dépiler", "depiler"], points: 1 },
      { id: "num", type: "numeric", prompt: "Combien vaut `0b1111` en décimal ?", answer: 15, points: 2 },
      {
        id: "order",
        type: "ordering",
        prompt: "Remettez dans l'ordre les opérations pour obtenir une pile `[1, 2]`.",
        items: [
          { id: "a", text: "Créer une pile vide" },
          { id: "b", text: "Empiler 1" },
          { id: "c", text: "Empiler 2" },
        ],
        points: 2,
      },
    ],
  });

  await signIn(page, email);
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Évaluations" }).click();
  await expect(page).toHaveURL(/\/eleve\/evaluations$/);
  await expect(page.getByRole("heading", { level: 1, name: "Évaluations" })).toBeVisible();
  const upcoming = page.getByTestId("evaluations-a_venir");
  const item = upcoming.getByRole("listitem").filter({ hasText: title });
  await expect(item).toContainText("À faire");
  await expect(item).toContainText("1 tentative restante sur 1");
  await expect(item).toContainText("Sans limite de temps");
  await checkA11y(page, testInfo, "evaluations");
  await screenshot(page, testInfo, "evaluations");

  await item.getByRole("link", { name: title }).click();
  await expect(page).toHaveURL(/\/eleve\/evaluations\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.getByTestId("aide-aria")).toContainText("ARIA donne seulement des indices");
  await checkA11y(page, testInfo, "evaluation-intro");
  await page.getByRole("button", { name: "Commencer" }).click();

  // Every question type, with the mouse…
  const q = (id: string) => page.getByTestId(`question-${id}`);
  await expect(q("single")).toBeVisible();
  await expect(page.getByTestId("mode-examen")).toContainText("ARIA donne seulement des indices");
  await q("single").getByText("LIFO", { exact: true }).click();
  await q("multi").getByText("une pile", { exact: true }).click();
  // …and with the keyboard.
  await q("multi").getByRole("checkbox", { name: "la pile d'appels" }).focus();
  await page.keyboard.press("Space");
  await q("tf").getByRole("radio", { name: "Vrai" }).focus();
  await page.keyboard.press("Space");
  await page.keyboard.press("ArrowRight"); // "Faux"
  await expect(q("tf").getByRole("radio", { name: "Faux" })).toBeChecked();
  await page.keyboard.press("Tab");
  await expect(q("short").getByLabel("Votre réponse")).toBeFocused();
  await page.keyboard.type("Dépiler");
  await page.keyboard.press("Tab");
  await page.keyboard.type("15");
  await expect(q("num").getByLabel("Votre réponse")).toHaveValue("15");
  // Ordering: items come shuffled; move each one up to its place (buttons, with Enter).
  const wanted = ["Créer une pile vide", "Empiler 1", "Empiler 2"];
  for (let target = 0; target < wanted.length; target++) {
    for (;;) {
      const texts = await q("order").locator("ol > li > span.flex-1").allTextContents();
      const at = texts.indexOf(wanted[target]!);
      if (at <= target) break;
      await q("order").getByRole("button", { name: `Monter « ${wanted[target]} »` }).focus();
      await page.keyboard.press("Enter");
      await expect(q("order").locator("ol > li > span.flex-1").nth(at - 1)).toHaveText(wanted[target]!);
    }
  }
  const keep = q("order").getByRole("button", { name: "Garder cet ordre comme réponse" });
  if (await keep.isVisible()) await keep.click();
  await expect(page.getByTestId("nombre-reponses")).toHaveText("6/6 réponses");
  await expect(page.getByTestId("etat-enregistrement")).toContainText("Enregistré à");
  await page.evaluate(() => window.scrollTo(0, 0));
  await checkA11y(page, testInfo, "evaluation-question");
  await screenshot(page, testInfo, "evaluation-question");

  // Confirm, then the result: objective questions are graded at once.
  await page.getByRole("button", { name: "Rendre ma copie" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Rendre votre copie ?" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("Vous avez répondu à 6 questions sur 6.");
  await checkA11y(page, testInfo, "evaluation-confirmation");
  await dialog.getByRole("button", { name: "Confirmer et rendre" }).click();
  await expect(page.getByTestId("note")).toHaveText("20/20");
  await expect(page.getByTestId("resultat")).toContainText("10 / 10 points");
  // The answers are not released: no detail per question, and the page says so.
  await expect(page.getByTestId("correction-a-venir")).toContainText("quand votre enseignant publiera la correction");
  await expect(page.getByRole("button", { name: "Commencer" })).toHaveCount(0);
  await expect(page.getByText("Vous avez déjà rendu cette évaluation.")).toBeVisible();
  await checkA11y(page, testInfo, "evaluation-resultat");
  await screenshot(page, testInfo, "evaluation-resultat");

  // Back to the list: finished, with its grade.
  await page.getByRole("link", { name: "Toutes les évaluations" }).click();
  const done = page.getByTestId("evaluations-terminees").getByRole("listitem").filter({ hasText: title });
  await expect(done).toContainText("Corrigée");
  await expect(done).toContainText("20/20");

  // The teacher releases the corrections: the detail per question appears.
  await apiCall("PATCH", `/api/assessments/${id}`, teacher, { answersReleased: true });
  await done.getByRole("link", { name: title }).click();
  const result = page.getByTestId("resultat");
  await expect(result.getByRole("heading", { name: "Correction question par question" })).toBeVisible();
  await expect(result.getByText("Juste", { exact: true })).toHaveCount(6);
  await expect(result).toContainText("Réponse attendue : LIFO");
  await expect(result).toContainText("Votre réponse : Créer une pile vide → Empiler 1 → Empiler 2");
  await expect(page.getByTestId("correction-a-venir")).toHaveCount(0);
  await checkA11y(page, testInfo, "evaluation-correction");
});

test("(g) un DS chronométré avec du code : rechargé en plein milieu, rien n'est perdu et le compte à rebours suit l'horloge du serveur", async ({ page }, testInfo) => {
  const { teacher, cls, email, student } = await studentInClass("DS");
  const title = `DS : récursivité ${Date.now()}`;
  const id = await publish(teacher, cls.id, {
    title,
    type: "exam",
    timeLimitMinutes: 30,
    questions: [
      { id: "single", type: "single_choice", prompt: "Une fonction récursive doit avoir…", options: ["un cas de base", "une boucle for"], correct: 0, points: 2 },
      { id: "code", type: "code", prompt: "Écrivez la fonction `carre(x)` qui renvoie le carré de `x`.", starter: "def carre(x):\n    pass", points: 5 },
      { id: "free", type: "free_text", prompt: "Expliquez ce qu'est la pile d'appels.", points: 3 },
    ],
  });

  await signIn(page, email);
  await page.goto(`/eleve/evaluations/${id}`);
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.getByTestId("aide-aria")).toContainText("ARIA ne vous aidera pas sur cette évaluation");
  await expect(page.getByText("30 min à partir du moment où vous commencez")).toBeVisible();
  await page.getByRole("button", { name: "Commencer" }).click();

  // The countdown counts from the server's deadline.
  const timer = page.getByRole("timer", { name: "Temps restant" });
  await expect(timer).toHaveText(/^(29|30):\d\d$/);
  const server = await apiCall("POST", `/api/assessments/${id}/attempts`, student); // the attempt in progress
  const attempt = server.attempt as { id: number; deadlineAt: string };
  expect(new Date((await timer.getAttribute("data-deadline"))!).getTime()).toBe(new Date(attempt.deadlineAt).getTime());

  await page.getByTestId("question-single").getByText("un cas de base").click();
  // CodeMirror (loaded for this page only), typed in with the keyboard: auto-indent after ":".
  const editor = page.getByTestId("question-code").getByRole("textbox");
  await expect(editor).toHaveText(/def carre\(x\):\s*pass/);
  await editor.click();
  // Replace `pass` (end of the document, four Backspaces), then a new line: Python's
  // indentation keeps the body indented.
  await page.keyboard.press("ControlOrMeta+End");
  for (let i = 0; i < 4; i++) await page.keyboard.press("Backspace");
  await page.keyboard.type("y = x * x");
  await page.keyboard.press("Enter");
  await page.keyboard.type("return y");
  await expect(editor).toContainText("return y");
  // Saved a second after the typing stops (the API has it: a reload will find it there).
  await expect
    .poll(async () => ((await apiCall("GET", `/api/attempts/${attempt.id}`, student)).attempt as { draftAnswers?: Record<string, unknown> }).draftAnswers?.code)
    .toBe("def carre(x):\n    y = x * x\n    return y");
  await expect(page.getByTestId("etat-enregistrement")).toContainText("Enregistré à");
  await checkA11y(page, testInfo, "evaluation-code");
  await screenshot(page, testInfo, "evaluation-code");

  // The network fails while the student writes: the answer stays in the local copy…
  await page.route("**/api/attempts/*/answers", (route) => route.abort("internetdisconnected"));
  await page.getByTestId("question-free").getByLabel("Votre réponse").fill("Elle garde les appels en attente.");
  await expect(page.getByTestId("etat-enregistrement")).toContainText("gardées sur cet appareil");
  const draft = (await apiCall("GET", `/api/attempts/${attempt.id}`, student)).attempt as { draftAnswers: Record<string, unknown> };
  expect(draft.draftAnswers.code).toBe("def carre(x):\n    y = x * x\n    return y");
  expect(draft.draftAnswers.single).toBe(0);
  expect(draft.draftAnswers.free).toBeUndefined();

  // …and the page is reloaded mid-exam (still offline for saves).
  const before = seconds((await timer.textContent()) ?? "");
  await page.reload();
  await expect(page.getByTestId("question-code")).toBeVisible();
  await expect(page.getByTestId("question-single").getByRole("radio", { name: "un cas de base" })).toBeChecked();
  await expect(page.getByTestId("question-code").getByRole("textbox")).toContainText("return y");
  await expect(page.getByTestId("question-free").getByLabel("Votre réponse")).toHaveValue("Elle garde les appels en attente.");
  const after = seconds((await timer.textContent()) ?? "");
  expect(after).toBeLessThanOrEqual(before);
  expect(after).toBeGreaterThan(before - 30);
  expect(new Date((await timer.getAttribute("data-deadline"))!).getTime()).toBe(new Date(attempt.deadlineAt).getTime());

  // The network is back: the merged answers reach the server.
  await page.unroute("**/api/attempts/*/answers");
  await expect(page.getByTestId("etat-enregistrement")).toContainText("Enregistré à", { timeout: 20_000 });
  const saved = (await apiCall("GET", `/api/attempts/${attempt.id}`, student)).attempt as { draftAnswers: Record<string, unknown> };
  expect(saved.draftAnswers).toEqual({ single: 0, code: "def carre(x):\n    y = x * x\n    return y", free: "Elle garde les appels en attente." });

  // Hand in: code and written answers wait for the teacher.
  await page.getByRole("button", { name: "Rendre ma copie" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Confirmer et rendre" }).click();
  await expect(page.getByTestId("note")).toHaveText("En attente de correction");
  await expect(page.getByTestId("resultat")).toContainText("2 / 10 points (provisoire)");
  await checkA11y(page, testInfo, "evaluation-en-attente");
  const final = (await apiCall("GET", `/api/attempts/${attempt.id}`, student)).attempt as { status: string; results: { questionId: string; answer: unknown }[] };
  expect(final.status).toBe("submitted");
  expect(final.results.find((r) => r.questionId === "code")?.answer).toBe("def carre(x):\n    y = x * x\n    return y");
});
