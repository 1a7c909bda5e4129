import { describe, expect, it } from "vitest";
import { allIds, applyEdit, draftOf, formatEdit, inputOf, move, newId, untitled, type Format } from "@/app/enseignant/cours/authoring";

const course = {
  id: 7,
  title: "Récursivité",
  description: null,
  level: "terminale" as const,
  category: "algorithmique",
  estimatedTime: 90,
  isPublished: false,
  updatedAt: "2026-12-01T10:00:00Z",
  prerequisites: ["Les fonctions"],
  objectives: ["Écrire une fonction récursive", "Trouver le cas de base"],
  content: {
    chapters: [
      {
        id: "c1",
        title: "Principe",
        sections: [
          { id: "s1", title: "Définition", content: "Une fonction qui s'appelle.", examples: [{ title: "Factorielle", code: "def f(n): ...", explanation: "" }], exercises: [{ question: "Q ?", hint: "", solution: "R" }] },
        ],
      },
      { id: "c2", title: "Pile", sections: [] },
    ],
  },
};

/** The text once a toolbar button is pressed on `[start, end)`, and what is then selected. */
function press(text: string, start: number, end: number, format: Format) {
  const e = formatEdit(text, start, end, format);
  const out = applyEdit(text, e);
  return { out, selected: out.slice(e.selStart, e.selEnd) };
}

describe("course authoring helpers", () => {
  it("sends back everything it was given, examples and exercises included (PUT replaces the whole course)", () => {
    const body = inputOf(draftOf(course));
    expect(body).toEqual({
      title: "Récursivité",
      description: null,
      level: "terminale",
      category: "algorithmique",
      estimatedTime: 90,
      prerequisites: ["Les fonctions"],
      objectives: ["Écrire une fonction récursive", "Trouver le cas de base"],
      content: course.content,
    });
  });

  it("turns the form's text into the API's values", () => {
    const d = { ...draftOf(course), description: "  ", category: "", estimatedTime: "", objectives: " Un \n\n Deux ", prerequisites: "" };
    const body = inputOf(d);
    expect(body.description).toBeNull();
    expect(body.category).toBeNull();
    expect(body.estimatedTime).toBeNull();
    expect(body.objectives).toEqual(["Un", "Deux"]);
    expect(body.prerequisites).toEqual([]);
    expect(inputOf({ ...d, estimatedTime: "45" }).estimatedTime).toBe(45);
    expect(inputOf({ ...d, estimatedTime: "abc" }).estimatedTime).toBe(-1);
  });

  it("makes ids the API accepts, unique in the course", () => {
    const taken = allIds(course.content.chapters);
    expect(taken).toEqual(["c1", "s1", "c2"]);
    const values = ["c1", "dup", "dup", "ok"];
    let i = 0;
    const rnd = () => values[i++]!;
    expect(newId("section", ["section-dup"], rnd)).toBe("section-c1");
    expect(newId("section", ["section-dup"], rnd)).toBe("section-ok");
    expect(newId("chapitre", taken)).toMatch(/^chapitre-[a-z0-9]{8}$/);
  });

  it("moves an item, clamped to the list", () => {
    expect(move(["a", "b", "c"], 0, 1)).toEqual(["b", "a", "c"]);
    expect(move(["a", "b", "c"], 2, 0)).toEqual(["c", "a", "b"]);
    expect(move(["a", "b", "c"], 2, 5)).toEqual(["a", "b", "c"]);
    expect(move(["a", "b", "c"], 0, -1)).toEqual(["a", "b", "c"]);
  });

  it("wraps the selection, or a placeholder that is left selected", () => {
    expect(press("un mot ici", 3, 6, "bold")).toEqual({ out: "un **mot** ici", selected: "mot" });
    expect(press("un mot ici", 3, 6, "italic").out).toBe("un *mot* ici");
    expect(press("abc", 3, 3, "bold")).toEqual({ out: "abc**texte en gras**", selected: "texte en gras" });
    expect(press("x", 1, 1, "code").out).toBe("x`code`");
    expect(press("voir doc", 5, 8, "link")).toEqual({ out: "voir [doc](https://)", selected: "https://" });
  });

  it("prefixes whole lines for headings and lists, replacing an existing marker", () => {
    expect(press("avant\nTitre\naprès", 8, 8, "heading").out).toBe("avant\n## Titre\naprès");
    expect(press("# Ancien", 0, 0, "heading").out).toBe("## Ancien");
    expect(press("a\nb\nc", 0, 5, "list").out).toBe("- a\n- b\n- c");
    expect(press("- a\n- b", 0, 7, "ordered").out).toBe("1. a\n2. b");
    expect(press("", 0, 0, "list")).toEqual({ out: "- élément", selected: "- élément" });
  });

  it("puts a Python code block on lines of its own", () => {
    expect(press("", 0, 0, "codeblock")).toEqual({ out: '```python\nprint("Bonjour")\n```\n', selected: 'print("Bonjour")' });
    expect(press("Texte", 5, 5, "codeblock").out).toBe('Texte\n\n```python\nprint("Bonjour")\n```\n');
    expect(press("Texte\n\nx = 1", 7, 12, "codeblock").out).toBe("Texte\n\n```python\nx = 1\n```\n");
  });

  it("finds the chapters and sections without a title", () => {
    const chapters = [
      { id: "c1", title: " ", sections: [{ id: "s1", title: "" }, { id: "s2", title: "Ok" }] },
      { id: "c2", title: "Ok" },
    ];
    expect([...untitled(chapters)]).toEqual(["c1", "s1"]);
  });
});
