import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, createClass, login, screenshot, unique } from "./helpers";

test.describe("élève", () => {
  test("(a) s'inscrit, rejoint une classe avec son code et voit son tableau de bord @phone", async ({ page }, testInfo) => {
    const teacher = await login("teacher@nexus-reussite.fr");
    const cls = await createClass(teacher, `Terminale NSI — e2e ${Date.now()}`);

    await page.goto("/");
    await expect(page).toHaveURL(/\/connexion/);
    await expect(page.getByRole("heading", { name: "Se connecter" })).toBeVisible();
    await checkA11y(page, testInfo, "connexion");
    await screenshot(page, testInfo, "connexion");

    // Unknown credentials: the API's French message is shown. (Not a demo account: five
    // failures would lock it for five minutes.)
    await page.getByLabel("Adresse e-mail").fill(unique("inconnu"));
    await page.getByLabel("Mot de passe").fill("pas-le-bon-mot-de-passe");
    await page.getByRole("button", { name: "Se connecter" }).click();
    await expect(page.locator("main").getByRole("alert")).toContainText("incorrect");

    await page.getByRole("link", { name: "Créer un compte" }).first().click();
    await expect(page).toHaveURL(/\/inscription/);
    await expect(page.getByRole("heading", { name: "Créer un compte" })).toBeVisible();
    await checkA11y(page, testInfo, "inscription");
    await screenshot(page, testInfo, "inscription");

    const email = unique("lea");
    await page.getByLabel("Élève").check();
    await page.getByLabel("Prénom").fill("Léa");
    await page.getByLabel("Nom", { exact: true }).fill("Dupont");
    await page.getByLabel("Adresse e-mail").fill(email);
    await page.getByLabel("Mot de passe", { exact: true }).fill("Girafe-Violette-42");
    await page.getByLabel("Confirmer le mot de passe").fill("Girafe-Violette-42");
    // 16 and more: no parental consent needed (privacy.spec.ts covers the under-15 case).
    await page.getByLabel("Date de naissance").fill("2009-04-17");
    await page.getByLabel("Niveau").selectOption("terminale");
    await page.getByRole("button", { name: "Créer un compte" }).click();

    await expect(page).toHaveURL(/\/eleve$/);
    await expect(page.getByRole("heading", { name: "Tableau de bord" })).toBeVisible();
    await expect(page.getByText("Bonjour Léa")).toBeVisible();
    await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");

    // Join the class with its code (a wrong one first: the API's message — once per run:
    // the API allows 10 wrong codes per address in 15 minutes).
    if (testInfo.project.name === "desktop") {
      await page.getByLabel("Code de la classe").fill("ZZZZZZZZ");
      await page.getByRole("button", { name: "Rejoindre" }).click();
      await expect(page.locator("section[aria-labelledby=rejoindre-titre]").getByRole("alert")).toContainText(/code/i);
    }
    await page.getByLabel("Code de la classe").fill(cls.joinCode);
    await page.getByRole("button", { name: "Rejoindre" }).click();
    await expect(page.getByText(/Vous avez rejoint la classe Terminale NSI — e2e/)).toBeVisible();

    // The class's published quizzes (none yet for a new class) and the dashboard's sections.
    await expect(page.getByRole("heading", { name: "Mes cours" })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Évaluations à venir" })).toBeVisible();
    await expect(page.getByRole("heading", { name: "Résultats récents" })).toBeVisible();
    await checkA11y(page, testInfo, "eleve");
    await screenshot(page, testInfo, "eleve-tableau-de-bord");

    // The session survives a reload (refresh token in the httpOnly cookie), and page
    // scripts cannot read it.
    await page.reload();
    await expect(page.getByText("Bonjour Léa")).toBeVisible();
    expect(await page.evaluate(() => document.cookie)).not.toContain("nexus_refresh");

    // The class is really joined, as the API says.
    const student = await login(email, "Girafe-Violette-42");
    const classes = (await apiCall("GET", "/api/classes?limit=100", student)) as { classes: { id: number }[] };
    expect(classes.classes.map((c) => c.id)).toContain(cls.id);

    await page.getByRole("button", { name: "Se déconnecter" }).click();
    await expect(page).toHaveURL(/\/connexion/);
    await page.goto("/eleve");
    await expect(page).toHaveURL(/\/connexion/);
  });

  test("(b) voit apparaître en direct la notification d'une évaluation publiée", async ({ page }, testInfo) => {
    const teacher = await login("teacher@nexus-reussite.fr");
    const cls = await createClass(teacher, `Terminale NSI — direct ${Date.now()}`);
    const email = unique("hugo");
    await apiCall("POST", "/api/auth/register", null, {
      email,
      password: "Girafe-Violette-42",
      firstName: "Hugo",
      lastName: "Bernard",
      role: "student",
      classLevel: "terminale",
    });
    const student = await login(email, "Girafe-Violette-42");
    await apiCall("POST", "/api/classes/join", student, { code: cls.joinCode });

    await page.goto("/connexion");
    await page.getByLabel("Adresse e-mail").fill(email);
    await page.getByLabel("Mot de passe").fill("Girafe-Violette-42");
    await page.getByRole("button", { name: "Se connecter" }).click();
    await expect(page).toHaveURL(/\/eleve$/);
    await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
    await expect(page.getByTestId("unread-count")).toHaveCount(0);

    const title = `Quiz éclair : piles ${Date.now()}`;
    const created = await apiCall("POST", "/api/assessments", teacher, {
      title,
      type: "quiz",
      questions: [
        { id: "q1", type: "single_choice", prompt: "Une pile est…", options: ["FIFO", "LIFO"], correct: 1, points: 1 },
      ],
    });
    const assessmentId = (created.assessment as { id: number }).id;
    await apiCall("POST", `/api/assessments/${assessmentId}/publish`, teacher, { classId: cls.id });
    // The API stored it (so a failure below is the live path's, not the publication's).
    const stored = (await apiCall("GET", "/api/notifications", student)) as { notifications: { title: string }[] };
    expect(stored.notifications.map((n) => n.title)).toContain(`Nouvelle évaluation : ${title}`);

    // Live: the bell counts it without a reload, the list shows it, the dashboard follows.
    await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
    await expect(page.getByTestId("unread-count")).toHaveText("1");
    await expect(page.getByTestId("eleve-due")).toContainText(title);
    await page.getByTestId("notification-bell").click();
    await expect(page.getByTestId("notification-list")).toContainText(title);
    await checkA11y(page, testInfo, "eleve-notifications");
    await screenshot(page, testInfo, "eleve-notification-en-direct");

    await page.getByRole("button", { name: "Tout marquer comme lu" }).click();
    await expect(page.getByTestId("unread-count")).toHaveCount(0);
  });
});

test("le compte de démo : l'élève voit ses évaluations, le parent voit son enfant", async ({ page }, testInfo) => {
  const signIn = async (email: string) => {
    await page.goto("/connexion");
    await page.getByLabel("Adresse e-mail").fill(email);
    await page.getByLabel("Mot de passe").fill(process.env.DEMO_PASSWORD ?? "NexusDemo2026!");
    await page.getByRole("button", { name: "Se connecter" }).click();
  };
  await signIn("student@nexus-reussite.fr");
  await expect(page).toHaveURL(/\/eleve$/);
  await expect(page.getByTestId("eleve-due").getByRole("listitem").first()).toBeVisible();
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
  await checkA11y(page, testInfo, "eleve-demo");
  await screenshot(page, testInfo, "eleve-demo");
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await expect(page).toHaveURL(/\/connexion/);

  await signIn("parent@nexus-reussite.fr");
  await expect(page).toHaveURL(/\/parent$/);
  await expect(page.getByTestId("child").first()).toBeVisible();
  await checkA11y(page, testInfo, "parent-demo");
  await screenshot(page, testInfo, "parent-demo");
});
