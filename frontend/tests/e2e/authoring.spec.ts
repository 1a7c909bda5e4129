import { expect, test } from "@playwright/test";
import { apiCall, checkA11y, createTeacher, expectFitsScreen, login, newBrowserPage, PASSWORD, screenshot, signIn, unique } from "./helpers";

// Course authoring (/enseignant/cours, /enseignant/cours/[id]): a teacher of its own
// (created by the demo admin, so the demo teacher's request budget is left to the other
// tests) writes a course, previews it, saves a draft, publishes it to a class, and a
// student of the class reads it.

type Course = { course: { id: number; isPublished: boolean; title: string; content: { chapters: { id: string; title: string; sections?: { id: string; title: string; content?: string }[] }[] } } };

test("(au1) un enseignant écrit un cours, le prévisualise, l'enregistre, le publie dans sa classe ; un élève le lit", async ({ page, browser }, testInfo) => {
  test.skip(testInfo.project.name === "phone", "desktop flow");
  const teacher = await createTeacher("Camille");
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);

  // A class, from the teacher's home.
  const className = `Terminale NSI — auteur ${Date.now().toString(36)}`;
  const newClass = page.getByRole("region", { name: "Nouvelle classe" });
  await newClass.getByLabel("Nom de la classe").fill(className);
  await newClass.getByRole("button", { name: "Créer la classe" }).click();
  const classRow = page.getByTestId("class-list").getByRole("listitem").filter({ hasText: className });
  await expect(classRow).toBeVisible();
  const joinCode = (await classRow.locator(".font-mono").textContent())!.trim();
  expect(joinCode).toMatch(/^[A-Z0-9]{4,}$/);

  // "Mes cours" in the nav: no course yet; the API's error on the title field.
  await page.getByRole("navigation", { name: "Navigation principale" }).getByRole("link", { name: "Mes cours" }).click();
  await expect(page).toHaveURL(/\/enseignant\/cours$/);
  await expect(page.getByRole("heading", { level: 1, name: "Mes cours" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Brouillons" })).toContainText("Aucun brouillon.");
  const form = page.getByRole("region", { name: "Nouveau cours" });
  await form.getByRole("button", { name: "Créer le cours" }).click();
  await expect(form.getByLabel("Titre du cours")).toHaveAttribute("aria-invalid", "true");
  await expect(form.getByText("Doit contenir entre 1 et 200 caractères.")).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-cours-nouveau-erreur");

  const title = `Les fonctions en Python ${Date.now().toString(36)}`;
  await form.getByLabel("Titre du cours").fill(title);
  await form.getByLabel("Thème").selectOption("programmation");
  await form.getByRole("button", { name: "Créer le cours" }).click();
  await expect(page).toHaveURL(/\/enseignant\/cours\/\d+$/);
  const courseId = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  await expect(page.getByTestId("course-state")).toHaveText("Brouillon");
  await checkA11y(page, testInfo, "enseignant-cours-vide");

  // A chapter, then a section: each new title field has the focus.
  await page.getByRole("button", { name: "Ajouter un chapitre" }).click();
  const chapterTitle = page.getByLabel("Titre du chapitre 1");
  await expect(chapterTitle).toBeFocused();
  await page.keyboard.type("Définir une fonction");
  await page.getByRole("button", { name: "Ajouter une section au chapitre 1" }).click();
  const sectionTitle = page.getByLabel("Titre de la section");
  await expect(sectionTitle).toBeFocused();
  await sectionTitle.fill("Première fonction");

  // The Markdown, typed with the keyboard: Tab reaches the toolbar (one stop), then the text.
  const editor = page.getByLabel("Contenu de la section (Markdown)");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("toolbar", { name: "Mise en forme" }).getByRole("button", { name: "Intertitre" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(editor).toBeFocused();
  await page.keyboard.type("Une fonction se définit avec le mot-clé ");
  await page.keyboard.press("Control+b");
  await page.keyboard.type("def");
  await page.keyboard.press("End");
  await page.keyboard.type(" :");
  await page.keyboard.press("Enter");
  // Back to the toolbar, End to its last button, "Bloc de code Python" with Enter: the
  // placeholder code is selected, typing replaces it.
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("End");
  await expect(page.getByRole("button", { name: "Bloc de code Python" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(editor).toBeFocused();
  await page.keyboard.type("def carre(x):\n    return x * x");
  await expect(editor).toHaveValue("Une fonction se définit avec le mot-clé **def** :\n\n```python\ndef carre(x):\n    return x * x\n```\n");
  // Tab leaves the text (the focus is not trapped).
  await page.keyboard.press("Tab");
  await expect(editor).not.toBeFocused();

  // The live preview: the reader's rendering, code highlighted.
  const preview = page.getByTestId("preview");
  await expect(preview.getByRole("heading", { level: 3, name: "Première fonction" })).toBeVisible();
  await expect(preview.locator("strong")).toHaveText("def");
  const previewCode = preview.locator("pre code.language-python");
  await expect(previewCode).toContainText("return x * x");
  await expect(previewCode.locator("span", { hasText: /^def$/ })).toHaveClass(/text-violet-800/);
  await expect(previewCode.locator("span", { hasText: /^return$/ })).toHaveClass(/text-violet-800/);

  // A second section, moved above the first, then deleted after the confirmation.
  await page.getByRole("button", { name: "Ajouter une section au chapitre 1" }).click();
  await sectionTitle.fill("Brouillon à jeter");
  await page.getByRole("button", { name: "Monter la section « Brouillon à jeter »" }).click();
  const plan = page.getByRole("region", { name: "Plan du cours" });
  await expect(plan.getByRole("button", { name: /^Modifier la section/ })).toHaveText([/Brouillon à jeter/, /Première fonction/]);
  await expect(page.getByRole("button", { name: "Descendre la section « Brouillon à jeter »" })).toBeFocused();
  await page.getByRole("button", { name: "Supprimer la section « Brouillon à jeter »" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Supprimer la section « Brouillon à jeter » ?" });
  await expect(dialog).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-cours-supprimer-section");
  await dialog.getByRole("button", { name: "Supprimer la section" }).click();
  await expect(dialog).toBeHidden();
  await expect(plan.getByRole("button", { name: /^Modifier la section/ })).toHaveText([/Première fonction/]);
  await plan.getByRole("button", { name: /^Modifier la section/ }).click();
  await expect(editor).toHaveValue(/def carre/);

  // Saved as a draft: the API has the section, still unpublished.
  await expect(page.getByTestId("save-state")).toHaveText("Modifications non enregistrées");
  await page.getByRole("button", { name: "Enregistrer le brouillon" }).click();
  await expect(page.getByText("Brouillon enregistré.")).toBeVisible();
  await expect(page.getByTestId("save-state")).toHaveText("Tout est enregistré");
  const saved = (await apiCall("GET", `/api/courses/${courseId}`, teacher.token)) as unknown as Course["course"];
  expect(saved.isPublished).toBe(false);
  expect(saved.content.chapters.map((c) => c.title)).toEqual(["Définir une fonction"]);
  expect(saved.content.chapters[0]!.sections!.map((s) => s.title)).toEqual(["Première fonction"]);
  expect(saved.content.chapters[0]!.sections![0]!.content).toContain("```python\ndef carre(x):");

  // Invalid values (an empty title, a negative duration, an exercise without a question):
  // the API's messages on their fields, the focus on the first one.
  await page.getByRole("button", { name: "Ajouter un exercice" }).click();
  const question = page.getByLabel("Énoncé de l'exercice 1 (Markdown)");
  await expect(question).toBeFocused();
  const courseTitle = page.getByLabel("Titre du cours");
  await courseTitle.fill("");
  await page.getByLabel("Durée (minutes)").fill("-5");
  await page.getByRole("button", { name: "Enregistrer le brouillon" }).click();
  await expect(courseTitle).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Doit contenir entre 1 et 200 caractères.")).toBeVisible();
  await expect(page.getByLabel("Durée (minutes)")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Durée en minutes, entre 0 et 100 000.")).toBeVisible();
  await expect(page.getByTestId("content-error")).toHaveText("Chaque exercice a un énoncé.");
  await expect(question).toHaveAttribute("aria-invalid", "true");
  await expect(courseTitle).toBeFocused();
  await checkA11y(page, testInfo, "enseignant-cours-erreurs");
  await courseTitle.fill(title);
  await page.getByLabel("Durée (minutes)").fill("45");
  await question.fill("Écrire une fonction `cube(x)`.");
  await page.getByLabel("Solution de l'exercice 1 (facultatif)").fill("```python\ndef cube(x):\n    return x ** 3\n```");
  await expect(preview.getByText("Exercice 1")).toBeVisible();
  await expect(page.getByTestId("content-error")).toBeHidden();
  await expect(page.getByText("Certains champs sont invalides.")).toBeHidden();
  // Each message goes once its field is changed.
  await expect(courseTitle).not.toHaveAttribute("aria-invalid");
  await expect(page.getByText("Durée en minutes, entre 0 et 100 000.")).toBeHidden();
  await checkA11y(page, testInfo, "enseignant-cours-editeur");

  // Published (what was changed is saved first), then assigned to the class.
  await page.getByRole("button", { name: "Enregistrer et publier" }).click();
  await expect(page.getByTestId("course-state")).toHaveText("Publié");
  await expect(page.getByText("Cours publié : les élèves des classes auxquelles il est attribué sont prévenus.")).toBeVisible();
  await expect(page.getByTestId("save-state")).toHaveText("Tout est enregistré");
  const classes = page.getByRole("region", { name: "Classes", exact: true });
  await classes.getByRole("button", { name: `Attribuer à ${className}` }).click();
  await expect(classes.getByText(`Cours attribué à ${className}.`)).toBeVisible();
  await expect(classes.getByRole("button", { name: `Retirer de ${className}` })).toBeVisible();
  await checkA11y(page, testInfo, "enseignant-cours-publie");
  await screenshot(page, testInfo, "enseignant-cours-editeur");
  const published = (await apiCall("GET", `/api/courses/${courseId}`, teacher.token)) as unknown as Course["course"];
  expect(published.isPublished).toBe(true);
  expect(JSON.stringify(published.content)).toContain("return x ** 3");
  expect((published as unknown as { estimatedTime: number }).estimatedTime).toBe(45);

  // The list: under "Cours publiés".
  await page.getByRole("link", { name: "← Mes cours" }).click();
  await expect(page.getByRole("region", { name: "Cours publiés" }).getByRole("link", { name: title })).toBeVisible();
  await expect(page.getByRole("region", { name: "Brouillons" })).toContainText("Aucun brouillon.");
  await checkA11y(page, testInfo, "enseignant-cours");
  await screenshot(page, testInfo, "enseignant-cours");

  // A student joins the class with its code and reads the course in the reader.
  const email = unique("noe");
  await apiCall("POST", "/api/auth/register", null, { email, password: PASSWORD, firstName: "Noé", lastName: "Petit", role: "student", classLevel: "terminale" });
  await apiCall("POST", "/api/classes/join", await login(email, PASSWORD), { code: joinCode });
  const student = await newBrowserPage(browser);
  await signIn(student, email, PASSWORD, /\/eleve$/);
  await student.goto(`/eleve/cours/${courseId}`);
  await expect(student.getByRole("heading", { level: 1, name: title })).toBeVisible();
  const article = student.getByRole("article");
  await expect(article.getByRole("heading", { level: 2, name: "Première fonction" })).toBeVisible();
  await expect(article.locator("strong")).toHaveText("def");
  const code = article.locator("pre code.language-python").first();
  await expect(code).toContainText("return x * x");
  await expect(code.locator("span", { hasText: /^def$/ })).toHaveClass(/text-violet-800/);
  await article.getByText("Solution").click();
  await expect(article.locator("details pre code.language-python")).toContainText("return x ** 3");
  await student.context().close();
});

test("(au2) les pages d'écriture d'un cours sur téléphone @phone", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "phone", "phone check");
  const teacher = await createTeacher("Yanis");
  const content = {
    chapters: [
      {
        id: "bases",
        title: "Les bases",
        sections: [{ id: "intro", title: "Une boucle", content: "Répéter avec `for` :\n\n```python\nfor i in range(3):\n    print(i)  # 0, 1, 2\n```\n" }],
      },
    ],
  };
  const created = (await apiCall("POST", "/api/courses", teacher.token, { title: "Les boucles", level: "premiere", category: "programmation", content })) as unknown as Course;
  await signIn(page, teacher.email, PASSWORD, /\/enseignant$/);
  await page.goto("/enseignant/cours");
  await expect(page.getByRole("region", { name: "Brouillons" }).getByRole("link", { name: "Les boucles" })).toBeVisible();
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "enseignant-cours-telephone");
  await screenshot(page, testInfo, "enseignant-cours");

  await page.getByRole("link", { name: "Les boucles" }).click();
  await expect(page).toHaveURL(new RegExp(`/enseignant/cours/${created.course.id}$`));
  await expect(page.getByLabel("Contenu de la section (Markdown)")).toHaveValue(/for i in range/);
  await expect(page.getByTestId("preview").locator("pre code.language-python span", { hasText: /^for$/ })).toHaveClass(/text-violet-800/);
  // Typing on the phone updates the preview.
  await page.getByLabel("Contenu de la section (Markdown)").press("Control+End");
  await page.keyboard.type("\nC'est **simple**.");
  await expect(page.getByTestId("preview").locator("strong")).toHaveText("simple");
  // Leaving by a link with unsaved changes asks first; "Annuler" stays.
  const asked: string[] = [];
  page.once("dialog", (d) => {
    asked.push(d.message());
    void d.dismiss();
  });
  await page.getByRole("link", { name: "← Mes cours" }).click();
  await expect.poll(() => asked).toEqual(["Vos modifications ne sont pas enregistrées. Quitter quand même cette page ?"]);
  await expect(page).toHaveURL(new RegExp(`/enseignant/cours/${created.course.id}$`));
  await expect(page.getByTestId("save-state")).toHaveText("Modifications non enregistrées");
  await expectFitsScreen(page);
  await checkA11y(page, testInfo, "enseignant-cours-editeur-telephone");
  await screenshot(page, testInfo, "enseignant-cours-editeur");
});
