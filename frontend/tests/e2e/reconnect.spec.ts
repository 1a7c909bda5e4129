import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, createClass, login, screenshot, unique } from "./helpers";

// Needs control of the hub: scripts/test.sh (run_web_tests) passes its pid file and a
// script that starts it again on the same port.
const PIDFILE = process.env.E2E_HUB_PIDFILE;
const START = process.env.E2E_HUB_START;

async function publishQuiz(teacher: string, classId: number, title: string): Promise<void> {
  const created = await apiCall("POST", "/api/assessments", teacher, {
    title,
    type: "quiz",
    questions: [{ id: "q1", type: "single_choice", prompt: "Une pile est…", options: ["FIFO", "LIFO"], correct: 1, points: 1 }],
  });
  await apiCall("POST", `/api/assessments/${(created.assessment as { id: number }).id}/publish`, teacher, { classId });
}

test("(d) le hub redémarre : bandeau de reconnexion, puis reprise sans rien perdre", async ({ page }, testInfo) => {
  test.skip(!PIDFILE || !START, "needs E2E_HUB_PIDFILE and E2E_HUB_START (scripts/test.sh)");
  const teacher = await login("teacher@nexus-reussite.fr");
  const cls = await createClass(teacher, `Terminale NSI — reprise ${Date.now()}`);
  const email = unique("nina");
  await apiCall("POST", "/api/auth/register", null, {
    email,
    password: "Girafe-Violette-42",
    firstName: "Nina",
    lastName: "Roux",
    role: "student",
    classLevel: "terminale",
  });
  await apiCall("POST", "/api/classes/join", await login(email, "Girafe-Violette-42"), { code: cls.joinCode });

  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill("Girafe-Violette-42");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");

  // A live event first: the client now has an offset to resume from.
  await publishQuiz(teacher, cls.id, "Avant la coupure");
  await expect(page.getByTestId("unread-count")).toHaveText("1");
  expect(await page.evaluate(() => sessionStorage.getItem("nexus.hub.offset"))).toMatch(/^\d+-\d+$/);

  // The hub stops (SIGTERM: it closes with 1012); what is published meanwhile is not lost.
  process.kill(Number(readFileSync(PIDFILE!, "utf8").trim()), "SIGTERM");
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "reconnecting");
  await expect(page.getByText(/Connexion au temps réel perdue/)).toBeVisible();
  await publishQuiz(teacher, cls.id, "Publié pendant la coupure");
  await checkA11y(page, testInfo, "eleve-reconnexion");
  await screenshot(page, testInfo, "eleve-reconnexion");

  execFileSync("bash", [START!], { stdio: "inherit" });
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online", { timeout: 40_000 });
  await expect(page.getByText(/Connexion au temps réel perdue/)).toHaveCount(0);
  await expect(page.getByTestId("unread-count")).toHaveText("2");
  await expect(page.getByTestId("eleve-due")).toContainText("Publié pendant la coupure");
  await page.getByTestId("notification-bell").click();
  await expect(page.getByTestId("notification-list")).toContainText("Publié pendant la coupure");
});
