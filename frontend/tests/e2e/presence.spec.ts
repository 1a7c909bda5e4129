import { expect, test, type Browser, type Page } from "@playwright/test";
import { apiCall, checkA11y, createClass, login, newBrowserPage, screenshot, unique } from "./helpers";

// Presence from the hub: classmates online in a class (the dashboard's "Mes classes"),
// and on the course being read (the reader reports its section to the class channel).

const PASSWORD = "Girafe-Violette-42";

async function student(first: string, joinCode: string): Promise<string> {
  const email = unique(first.toLowerCase());
  await apiCall("POST", "/api/auth/register", null, { email, password: PASSWORD, firstName: first, lastName: "Test", role: "student", classLevel: "terminale" });
  const token = await login(email, PASSWORD);
  await apiCall("POST", "/api/classes/join", token, { code: joinCode });
  return email;
}

async function signedIn(browser: Browser, email: string): Promise<Page> {
  const page = await newBrowserPage(browser);
  await page.goto("/connexion");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page).toHaveURL(/\/eleve$/);
  await expect(page.getByTestId("connection-state")).toHaveAttribute("data-status", "online");
  return page;
}

test("(k) présence : la classe voit qui est en ligne, et le cours qui le lit", async ({ browser }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow (two browsers)");
  const teacher = await login("teacher@nexus-reussite.fr");
  const cls = await createClass(teacher, `Terminale NSI — présence ${Date.now()}`);
  const ines = await student("Inès", cls.joinCode);
  const hugo = await student("Hugo", cls.joinCode);
  const courses = (await apiCall("GET", "/api/courses?level=terminale&limit=1", await login(ines, PASSWORD))) as { courses: { id: number; title: string }[] };
  const course = courses.courses[0]!;

  const a = await signedIn(browser, ines);
  const line = a.getByTestId("my-classes").getByRole("listitem").filter({ hasText: "présence" });
  await expect(line.getByTestId("class-presence")).toHaveText("Aucun autre élève en ligne");

  // Hugo signs in and opens a course: Inès sees him online in their class, live.
  const b = await signedIn(browser, hugo);
  await b.goto(`/eleve/cours/${course.id}`);
  await expect(b.getByRole("heading", { level: 1, name: course.title })).toBeVisible();
  await expect(line.getByTestId("class-presence")).toHaveText("1 autre élève en ligne");
  await checkA11y(a, testInfo, "presence-classe");
  await screenshot(a, testInfo, "eleve-classes-presence");

  // Inès opens the same course: one classmate reading it.
  await a.goto(`/eleve/cours/${course.id}`);
  await expect(a.getByTestId("classmates-here")).toHaveText("1 camarade de ta classe sur ce cours en ce moment");
  // Hugo leaves: the line goes away.
  await b.context().close();
  await expect(a.getByTestId("classmates-here")).toHaveCount(0);
  await a.context().close();
});
