// Helpers of the teacher's course editor (pure: unit-tested in tests/unit/authoring.test.ts).
import type { Schemas } from "@/lib/api/client";
import type { ClassLevel } from "@/lib/format";

export type Chapter = Schemas["Chapter"];
export type Section = Schemas["Section"];
export type CourseInput = Schemas["CourseInput"];

/** What the editor's form holds: text as typed (lists one item a line, the duration as text). */
export type Draft = {
  title: string;
  description: string;
  level: ClassLevel;
  category: string;
  estimatedTime: string;
  prerequisites: string;
  objectives: string;
  chapters: Chapter[];
};

export function draftOf(course: Schemas["CourseDetail"]): Draft {
  return {
    title: course.title,
    description: course.description ?? "",
    level: course.level,
    category: course.category ?? "",
    estimatedTime: course.estimatedTime == null ? "" : String(course.estimatedTime),
    prerequisites: course.prerequisites.join("\n"),
    objectives: course.objectives.join("\n"),
    // Everything the API sent is kept (examples and exercises too): PUT replaces the
    // whole content, so what the editor does not show must still be sent back.
    chapters: course.content.chapters.map((c) => ({ ...c, sections: (c.sections ?? []).map((s) => ({ ...s })) })),
  };
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/** The body of PUT /api/courses/{id}: the whole course, content included. */
export function inputOf(d: Draft): CourseInput {
  const minutes = d.estimatedTime.trim();
  return {
    title: d.title,
    description: d.description.trim() ? d.description : null,
    level: d.level,
    category: d.category || null,
    // The API checks the range (0 to 100 000) and says so on the field; text that is not
    // a number is sent as -1 so that the same message appears there.
    estimatedTime: minutes === "" ? null : Number.isFinite(Number(minutes)) ? Math.trunc(Number(minutes)) : -1,
    prerequisites: lines(d.prerequisites),
    objectives: lines(d.objectives),
    content: { chapters: d.chapters },
  };
}

/** A new id for a chapter or section: the API wants 1–50 of [A-Za-z0-9_-], unique in the course. */
export function newId(prefix: "chapitre" | "section", taken: Iterable<string>, random: () => string = randomPart): string {
  const used = new Set(taken);
  for (;;) {
    const id = `${prefix}-${random()}`;
    if (!used.has(id)) return id;
  }
}

function randomPart(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, "0");
}

export function allIds(chapters: readonly Chapter[]): string[] {
  return chapters.flatMap((c) => [c.id, ...(c.sections ?? []).map((s) => s.id)]);
}

/** A copy of `items` with the one at `from` moved to `to` (clamped). */
export function move<T>(items: readonly T[], from: number, to: number): T[] {
  const out = items.slice();
  const target = Math.max(0, Math.min(out.length - 1, to));
  if (from < 0 || from >= out.length || from === target) return out;
  const [item] = out.splice(from, 1);
  out.splice(target, 0, item as T);
  return out;
}

export type Format = "bold" | "italic" | "code" | "heading" | "list" | "ordered" | "link" | "codeblock";

export type Edit = {
  /** The range of the old text to replace… */
  from: number;
  to: number;
  /** …by this text, */
  insert: string;
  /** then the selection, in the new text. */
  selStart: number;
  selEnd: number;
};

const PLACEHOLDER: Record<Format, string> = {
  bold: "texte en gras",
  italic: "texte en italique",
  code: "code",
  heading: "Titre",
  list: "élément",
  ordered: "élément",
  link: "texte du lien",
  codeblock: "print(\"Bonjour\")",
};

/** What a toolbar button does to the text: wrap the selection, or prefix its lines. */
export function formatEdit(text: string, start: number, end: number, format: Format): Edit {
  const selected = text.slice(start, end);
  const wrap = (before: string, after: string): Edit => {
    const inner = selected || PLACEHOLDER[format];
    return { from: start, to: end, insert: `${before}${inner}${after}`, selStart: start + before.length, selEnd: start + before.length + inner.length };
  };
  switch (format) {
    case "bold":
      return wrap("**", "**");
    case "italic":
      return wrap("*", "*");
    case "code":
      return wrap("`", "`");
    case "link": {
      const label = selected || PLACEHOLDER.link;
      const insert = `[${label}](https://)`;
      // The address is what is left to type: select "https://".
      const urlStart = start + label.length + 3;
      return { from: start, to: end, insert, selStart: urlStart, selEnd: urlStart + "https://".length };
    }
    case "codeblock": {
      const before = start > 0 && text[start - 1] !== "\n" ? "\n\n" : start > 1 && text[start - 2] !== "\n" ? "\n" : "";
      const after = end < text.length && text[end] !== "\n" ? "\n\n" : "\n";
      const open = `${before}\`\`\`python\n`;
      const inner = selected || PLACEHOLDER.codeblock;
      return { from: start, to: end, insert: `${open}${inner}\n\`\`\`${after}`, selStart: start + open.length, selEnd: start + open.length + inner.length };
    }
    case "heading":
    case "list":
    case "ordered": {
      const lineStart = text.lastIndexOf("\n", start - 1) + 1;
      const nl = text.indexOf("\n", end > start && text[end - 1] === "\n" ? end - 1 : end);
      const lineEnd = nl === -1 ? text.length : nl;
      const block = text.slice(lineStart, lineEnd);
      const prefixed = (block || PLACEHOLDER[format])
        .split("\n")
        .map((l, i) => {
          const bare = l.replace(/^(#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)/, "");
          return format === "heading" ? `## ${bare}` : format === "list" ? `- ${bare}` : `${i + 1}. ${bare}`;
        })
        .join("\n");
      return { from: lineStart, to: lineEnd, insert: prefixed, selStart: lineStart, selEnd: lineStart + prefixed.length };
    }
  }
}

/** The text once an edit is applied (what the textarea then holds). */
export function applyEdit(text: string, e: Edit): string {
  return text.slice(0, e.from) + e.insert + text.slice(e.to);
}

/** Chapters and sections whose title the API will refuse (empty), to point at them. */
export function untitled(chapters: readonly Chapter[]): Set<string> {
  const out = new Set<string>();
  for (const c of chapters) {
    if (!c.title.trim()) out.add(c.id);
    for (const s of c.sections ?? []) if (!s.title.trim()) out.add(s.id);
  }
  return out;
}
