import { expect, test, type Browser, type Page } from "@playwright/test";
import { apiCall, checkA11y, createClass, DEMO_PASSWORD, expectFitsScreen, login, screenshot, unique } from "./helpers";

const TEACHER_EMAIL = "teacher@nexus-reussite.fr";
const TEACHER_NAME = "Paul Lefèvre";
const PASSWORD = "Girafe-Violette-42";

/** A new student in a new class of the demo teacher, all through the API. */
async function studentInAClass(firstName: string) {
  const teacher = await login(TEACHER_EMAIL);
  const cls = await createClass(teacher, `Terminale NSI — messages ${Date.now()}`);
  const email = unique(firstName.toLowerCase());
  await apiCall("POST", "/api/auth/register", null, {
    email,
    password: PASSWORD,
    firstName,
    lastName: "Dupont",
    role: "student",
    classLevel: "terminale",
  });
  const student = await login(email, PASSWORD);
  await apiCall("POST", "/api/classes/join", student, { code: cls.joinCode });
  return { teacher, cls, email, student };
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).not.toHaveURL(/\/connexion/);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
}

async function teacherPage(browser: Browser) {
  const context = await browser.newContext({ locale: "fr-FR", timezoneId: "Europe/Paris", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await signIn(page, TEACHER_EMAIL, DEMO_PASSWORD);
  return { context, page };
}

type Messages = { messages: { id: number; body: string; senderId: number | null; clientMessageId: string }[] };

test("(f) un élève écrit à son enseignant : réponse, « écrit… » et « Lu » en direct, rien de perdu", async ({ page, browser }, testInfo) => {
  const { teacher, email } = await studentInAClass("Léo");
  await signIn(page, email, PASSWORD);

  // Messages from the navigation: no conversation yet.
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Messages" }).click();
  await expect(page).toHaveURL(/\/messages$/);
  await expect(page.getByRole("heading", { name: "Messages", level: 1 })).toBeVisible();
  await expect(page.getByText(/Aucune conversation pour l.instant/)).toBeVisible();
  await checkA11y(page, testInfo, "messages-vide");

  // "Nouveau message": the class's teacher (and the class's conversation), keyboard only.
  await page.getByRole("button", { name: "Nouveau message" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Nouveau message" })).toHaveAttribute("aria-expanded", "true");
  const contact = page.getByTestId("contacts").getByRole("button", { name: new RegExp(TEACHER_NAME) });
  await expect(contact).toBeVisible();
  await expect(page.getByTestId("contacts").getByRole("button", { name: /Classe · Terminale NSI — messages/ })).toBeVisible();
  await checkA11y(page, testInfo, "messages-nouveau");
  await contact.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/messages\/\d+$/);
  const conversationId = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByRole("heading", { name: TEACHER_NAME, level: 2 })).toBeVisible();

  // Write with the keyboard: Enter sends.
  const question = "Bonjour, je ne comprends pas le cas de base de la récursivité.";
  await page.getByLabel("Votre message").fill(question);
  await page.keyboard.press("Enter");
  const mine = page.getByTestId("message").filter({ hasText: question });
  await expect(mine).toHaveAttribute("data-status", "sent");
  await expect(page.getByLabel("Votre message")).toHaveValue("");
  await expect(mine).toContainText("Envoyé");
  await expect(page.getByTestId("read-receipt")).toHaveCount(0);

  // The teacher has it (API).
  const history = (await apiCall("GET", `/api/conversations/${conversationId}/messages`, teacher)) as Messages;
  expect(history.messages.map((m) => m.body)).toEqual([question]);

  // The teacher opens the conversation in another browser: the student sees "Lu", live.
  const other = await teacherPage(browser);
  await other.page.goto(`/messages/${conversationId}`);
  await expect(other.page.getByTestId("message").filter({ hasText: question })).toBeVisible();
  await expect(page.getByTestId("read-receipt")).toHaveText(/Lu/);
  await expect(mine).toContainText("Lu");
  // …and that the teacher is there (the hub's presence on the conversation's channel).
  await expect(page.getByTestId("presence")).toHaveText("En ligne dans la conversation");

  // The teacher types: "Paul Lefèvre écrit…" on the student's screen.
  const answer = "Bonjour Léo ! Le cas de base, c'est celui où la fonction ne s'appelle plus.";
  await other.page.getByLabel("Votre message").pressSequentially(answer.slice(0, 20), { delay: 30 });
  await expect(page.getByTestId("typing")).toHaveText(`${TEACHER_NAME} écrit…`);
  await checkA11y(page, testInfo, "messages-conversation");
  await screenshot(page, testInfo, "messages-conversation");
  await other.page.getByLabel("Votre message").fill(answer);
  await other.page.getByRole("button", { name: "Envoyer" }).click();

  // The answer arrives without a reload; the indicator goes away.
  await expect(page.getByTestId("message").filter({ hasText: answer })).toBeVisible();
  await expect(page.getByTestId("typing")).toHaveText("");
  const after = (await apiCall("GET", `/api/conversations/${conversationId}/messages`, teacher)) as Messages;
  expect(after.messages.map((m) => m.body)).toEqual([answer, question]);
  await other.context.close();

  // Unread counts, live: away from the conversation, a new message counts in the header.
  await page.getByRole("link", { name: "Tableau de bord" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
  await expect(page.getByTestId("messages-unread")).toHaveCount(0);
  const followUp = "Relis la section 2 et refais l'exercice 3.";
  await apiCall("POST", `/api/conversations/${conversationId}/messages`, teacher, { clientMessageId: `e2e-${Date.now()}`, body: followUp });
  await expect(page.getByTestId("messages-unread")).toHaveText(/^1/);
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: /Messages/ }).click();
  const item = page.getByTestId("conversation-link").filter({ hasText: TEACHER_NAME });
  await expect(item.getByTestId("conversation-unread")).toHaveText(/^1/);
  await checkA11y(page, testInfo, "messages");
  await screenshot(page, testInfo, "messages");
  await item.click();
  await expect(page.getByTestId("message").filter({ hasText: followUp })).toBeVisible();
  // Seen: marked read, the counts go back to zero.
  await expect(page.getByTestId("messages-unread")).toHaveCount(0);
  await expect(page.getByTestId("conversation-unread")).toHaveCount(0);

  // A message that cannot be sent stays, marked, across a reload, and goes once retried.
  await page.route(`**/api/conversations/${conversationId}/messages`, (route) =>
    route.request().method() === "POST" ? route.abort("internetdisconnected") : route.continue(),
  );
  const offline = "Merci ! Je m'y mets ce soir.";
  await page.getByLabel("Votre message").fill(offline);
  await page.getByRole("button", { name: "Envoyer" }).click();
  const failed = page.getByTestId("message").filter({ hasText: offline });
  await expect(failed).toHaveAttribute("data-status", "failed");
  await expect(failed).toContainText("Non envoyé");
  await expect(page.locator("main").getByRole("alert")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("message").filter({ hasText: offline })).toHaveAttribute("data-status", "failed");
  await page.unroute(`**/api/conversations/${conversationId}/messages`);
  await page.getByTestId("message").filter({ hasText: offline }).getByRole("button", { name: "Réessayer l'envoi" }).click();
  await expect(page.getByTestId("message").filter({ hasText: offline })).toHaveAttribute("data-status", "sent");

  // Nothing lost, nothing doubled, in order, after a reload.
  await page.reload();
  await expect(page.getByTestId("message")).toHaveCount(4);
  await expect(page.getByTestId("message").nth(0)).toContainText(question);
  await expect(page.getByTestId("message").nth(1)).toContainText(answer);
  await expect(page.getByTestId("message").nth(2)).toContainText(followUp);
  await expect(page.getByTestId("message").nth(3)).toContainText(offline);
  const final = (await apiCall("GET", `/api/conversations/${conversationId}/messages`, teacher)) as Messages;
  expect(final.messages.map((m) => m.body)).toEqual([offline, followUp, answer, question]);

  // The class's conversation, from "Nouveau message" too.
  await page.getByRole("button", { name: "Nouveau message" }).click();
  await page.getByTestId("contacts").getByRole("button", { name: /Classe · Terminale NSI — messages/ }).click();
  await expect(page.getByRole("heading", { name: /Terminale NSI — messages .* Conversation de la classe/, level: 2 })).toBeVisible();
  await page.getByLabel("Votre message").fill("Quelqu'un a fini l'exercice 3 ?");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("message").filter({ hasText: "Quelqu'un a fini l'exercice 3 ?" })).toHaveAttribute("data-status", "sent");
  await expect(page.getByTestId("conversation-link")).toHaveCount(2);
  await checkA11y(page, testInfo, "messages-classe");
});

test("(f) les messages sur un téléphone : la liste, puis la conversation @phone", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "the phone layout (390×844)");
  const { teacher, email } = await studentInAClass("Nina");
  const student = await login(email, PASSWORD);
  const me = (await apiCall("GET", "/api/auth/me", student)) as { user?: { id: number }; id?: number };
  const studentId = me.user?.id ?? me.id;
  const opened = (await apiCall("POST", "/api/conversations", teacher, { userId: studentId })) as { conversationId: number };
  await apiCall("POST", `/api/conversations/${opened.conversationId}/messages`, teacher, {
    clientMessageId: `e2e-${Date.now()}`,
    body: "Bonjour Nina, pense à rendre le TP sur les piles avant vendredi.",
  });

  await signIn(page, email, PASSWORD);
  await page.goto("/messages");
  const item = page.getByTestId("conversation-link").filter({ hasText: TEACHER_NAME });
  await expect(item.getByTestId("conversation-unread")).toHaveText(/^1/);
  await expect(page.getByTestId("messages-unread")).toHaveText(/^1/);
  // Nothing widens the page beyond the phone's screen (the header's badge included).
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "messages-telephone");
  await screenshot(page, testInfo, "messages");

  await item.click();
  await expect(page).toHaveURL(/\/messages\/\d+$/);
  // On a phone the conversation takes the screen; a link goes back to the list.
  await expect(page.getByTestId("conversation-list")).toBeHidden();
  await expect(page.getByTestId("message")).toHaveCount(1);
  await page.getByLabel("Votre message").fill("D'accord, merci !");
  await page.getByRole("button", { name: "Envoyer" }).click();
  await expect(page.getByTestId("message").filter({ hasText: "D'accord, merci !" })).toHaveAttribute("data-status", "sent");
  await checkA11y(page, testInfo, "messages-conversation-telephone");
  await screenshot(page, testInfo, "messages-conversation");
  await page.getByRole("link", { name: "← Toutes les conversations" }).click();
  await expect(page).toHaveURL(/\/messages$/);
});
