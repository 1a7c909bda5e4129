import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Markdown } from "@/lib/markdown";
import { tokenize } from "@/lib/highlight";

const html = (source: string) => renderToStaticMarkup(createElement(Markdown, { source }));

describe("Markdown of the courses", () => {
  it("renders the curriculum's blocks and inline marks", () => {
    const out = html("## Titre\n\nUn **graphe** et *un arc*, `len(l)`.\n\n- a\n- b\n\n1. un\n2. deux\n\n| x | y |\n|---|--:|\n| 1 | 2 |\n\n```python\nx = 1\n```");
    expect(out).toContain("<h4");
    expect(out).toContain("<strong>graphe</strong>");
    expect(out).toContain("<em>un arc</em>");
    expect(out).toContain(">len(l)</code>");
    expect(out).toMatch(/<ul[^>]*><li[^>]*>a<\/li><li[^>]*>b<\/li><\/ul>/);
    expect(out).toContain("<ol");
    expect(out).toContain('<th scope="col"');
    expect(out).toContain("text-align:right");
    expect(out).toContain('class="language-python"');
  });

  it("never injects HTML: raw tags are text, unsafe links are not links", () => {
    const out = html('<script>alert(1)</script>\n\n<img src=x onerror="alert(1)">\n\n[clic](javascript:alert(1)) [ok](https://eduscol.education.fr)');
    expect(out).not.toContain("<script");
    expect(out).not.toContain("<img");
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(out).not.toContain("javascript:");
    expect(out).toContain('href="https://eduscol.education.fr"');
  });
});

describe("highlighter", () => {
  it("finds Python keywords, strings, comments and numbers", () => {
    const tokens = tokenize('def f(n):\n    return "a" + 1  # fin', "python");
    const kinds = Object.fromEntries(tokens.filter(([k]) => k).map(([k, t]) => [t, k]));
    expect(kinds).toMatchObject({ def: "kw", return: "kw", '"a"': "str", "1": "num", "# fin": "com" });
    expect(tokens.map(([, t]) => t).join("")).toBe('def f(n):\n    return "a" + 1  # fin');
  });

  it("leaves an unknown language as plain text", () => {
    expect(tokenize("a < b", "brainfuck")).toEqual([[null, "a < b"]]);
  });
});

describe("the seeded curriculum (database/seed/courses/)", () => {
  it("renders every section, example and exercise without leftover Markdown markup", () => {
    const dir = join(__dirname, "../../../database/seed/courses");
    const texts: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      const course = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
        content: { chapters: { sections: { content?: string; examples?: { explanation?: string }[]; exercises?: { question: string; hint?: string; solution?: string }[] }[] }[] };
      };
      for (const s of course.content.chapters.flatMap((c) => c.sections)) {
        texts.push(s.content ?? "", ...(s.examples ?? []).map((e) => e.explanation ?? ""));
        for (const e of s.exercises ?? []) texts.push(e.question, e.hint ?? "", e.solution ?? "");
      }
    }
    expect(texts.length).toBeGreaterThan(100);
    for (const t of texts) {
      // The text outside code blocks: no Markdown syntax left over.
      const prose = html(t).replace(/<pre[\s\S]*?<\/pre>|<code[\s\S]*?<\/code>/g, "").replace(/<[^>]+>/g, "");
      expect(prose, t.slice(0, 80)).not.toMatch(/\*\*|```|^\s*[-*] |\|\s*---/m);
    }
  });
});
