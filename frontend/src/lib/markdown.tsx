// A small Markdown renderer for the courses' sections: it builds React elements, never
// HTML strings, so raw HTML in a course is shown as text (no injection, nothing for the
// CSP to allow). Covers what the curriculum uses: headings, paragraphs, lists (nested by
// indentation), fenced code (highlighted), tables, block quotes, rules, **bold**,
// *italic*, `code` and links (http, https, mailto and relative only).
import { Fragment, type ReactNode } from "react";
import { CodeBlock } from "./highlight";

type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "code"; lang: string; code: string }
  | { kind: "list"; ordered: boolean; start: number; items: { text: string; children: Block[] }[] }
  | { kind: "table"; head: string[]; align: ("left" | "center" | "right" | undefined)[]; rows: string[][] }
  | { kind: "quote"; children: Block[] }
  | { kind: "rule" };

const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells: string[] = [];
  let cur = "";
  let inCode = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && s[i + 1] === "|") {
      cur += "|";
      i++;
    } else if (c === "`") {
      inCode = !inCode;
      cur += c;
    } else if (c === "|" && !inCode) {
      cells.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  cells.push(cur.trim());
  return cells;
}

const isTableSep = (line: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);

export function parseBlocks(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const L = (k: number): string => lines[k] ?? "";
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = L(i);
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = /^\s*(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const code: string[] = [];
      i++;
      while (i < lines.length && !L(i).trim().startsWith(marker)) code.push(L(i++));
      i++;
      blocks.push({ kind: "code", lang: (fence[2] ?? "").toLowerCase(), code: code.join("\n") });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      blocks.push({ kind: "heading", level: heading[1]!.length, text: heading[2] ?? "" });
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push({ kind: "rule" });
      i++;
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && isTableSep(L(i + 1))) {
      const head = splitRow(line);
      const align = splitRow(L(i + 1)).map((c) =>
        c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : undefined,
      );
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && L(i).trim() && L(i).includes("|")) rows.push(splitRow(L(i++)));
      blocks.push({ kind: "table", head, align, rows });
      continue;
    }
    if (/^\s*>/.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && /^\s*>/.test(L(i))) inner.push(L(i++).replace(/^\s*>\s?/, ""));
      blocks.push({ kind: "quote", children: parseBlocks(inner.join("\n")) });
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const raw: string[] = [];
      const head = LIST_ITEM.exec(line)!;
      const headIndent = head[1]!.length;
      const headOrdered = /\d/.test(head[2]!);
      while (i < lines.length) {
        const l = L(i);
        // An item of the other kind (ordered / bulleted) at the same level starts a new list.
        const item = LIST_ITEM.exec(l);
        if (raw.length && item && item[1]!.length <= headIndent && /\d/.test(item[2]!) !== headOrdered) break;
        if (!l.trim()) {
          // A blank line continues the list only if it goes on with an item or indented text.
          const next = i + 1 < lines.length ? L(i + 1) : undefined;
          if (next !== undefined && (LIST_ITEM.test(next) || /^\s{2,}\S/.test(next))) {
            i++;
            continue;
          }
          break;
        }
        if (raw.length && !LIST_ITEM.test(l) && !/^\s/.test(l) && /^(#|```|~~~|>)/.test(l)) break;
        raw.push(l);
        i++;
      }
      blocks.push(parseList(raw));
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      L(i).trim() &&
      !/^\s*(`{3,}|~{3,}|#{1,6}\s|>)/.test(L(i)) &&
      !LIST_ITEM.test(L(i)) &&
      !(L(i).includes("|") && i + 1 < lines.length && isTableSep(L(i + 1)))
    )
      para.push(L(i++).trim());
    blocks.push({ kind: "paragraph", text: para.join("\n") });
  }
  return blocks;
}

function parseList(raw: string[]): Block {
  const first = LIST_ITEM.exec(raw[0] ?? "")!;
  const indent = first[1]!.length;
  const ordered = /\d/.test(first[2]!);
  const items: { text: string; lines: string[] }[] = [];
  for (const l of raw) {
    const m = LIST_ITEM.exec(l);
    if (m && m[1]!.length <= indent) items.push({ text: m[3] ?? "", lines: [] });
    else if (items.length) {
      const last = items[items.length - 1]!;
      if (!m && last.lines.length === 0) last.text += "\n" + l.trim();
      else last.lines.push(l.slice(Math.min(indent + 2, l.length - l.trimStart().length)));
    }
  }
  return {
    kind: "list",
    ordered,
    start: ordered ? parseInt(first[2]!, 10) : 1,
    items: items.map((it) => ({ text: it.text, children: it.lines.length ? parseBlocks(it.lines.join("\n")) : [] })),
  };
}

function safeHref(url: string): string | null {
  const u = url.trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (/^[/#]/.test(u) && !u.startsWith("//")) return u;
  return null;
}

/** Inline Markdown: `code`, **bold**, *italic* / _italic_, [links](url), line breaks. */
export function renderInline(text: string, key = "i"): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][\s\S]*?)\*|(?<![\p{L}\d])_([^_\s][\s\S]*?)_(?![\p{L}\d])|\[([^\]]+)\]\(([^)\s]+)\)|\n/gu;
  let last = 0;
  let n = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const k = `${key}-${n++}`;
    if (m[1]) out.push(<code key={k} className="rounded bg-slate-100 px-1 py-0.5 font-mono text-[0.9em] text-slate-900 dark:bg-slate-800 dark:text-slate-100">{(m[2] ?? "").trim() || m[2]}</code>);
    else if (m[3] !== undefined || m[4] !== undefined) out.push(<strong key={k}>{renderInline(m[3] ?? m[4] ?? "", k)}</strong>);
    else if (m[5] !== undefined || m[6] !== undefined) out.push(<em key={k}>{renderInline(m[5] ?? m[6] ?? "", k)}</em>);
    else if (m[7] !== undefined) {
      const href = safeHref(m[8] ?? "");
      const label = renderInline(m[7], k);
      out.push(
        href ? (
          <a key={k} href={href} className="text-accent-700 underline dark:text-accent-100" {...(/^https?:/.test(href) ? { rel: "noopener noreferrer", target: "_blank" } : {})}>
            {label}
          </a>
        ) : (
          <Fragment key={k}>{label}</Fragment>
        ),
      );
    } else out.push(<br key={k} />);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function renderBlock(b: Block, key: string, headingOffset: number): ReactNode {
  switch (b.kind) {
    case "heading": {
      const level = Math.min(6, b.level + headingOffset);
      const Tag = `h${level}` as "h3";
      return (
        <Tag key={key} className="mt-6 mb-2 text-lg font-semibold">
          {renderInline(b.text, key)}
        </Tag>
      );
    }
    case "paragraph":
      return (
        <p key={key} className="my-3 leading-relaxed">
          {renderInline(b.text, key)}
        </p>
      );
    case "code":
      return <CodeBlock key={key} code={b.code} lang={b.lang} />;
    case "rule":
      return <hr key={key} className="my-6 border-slate-300 dark:border-slate-700" />;
    case "quote":
      return (
        <blockquote key={key} className="my-3 border-l-4 border-accent-600 bg-slate-50 px-4 py-1 dark:bg-slate-800/50">
          {b.children.map((c, j) => renderBlock(c, `${key}-${j}`, headingOffset))}
        </blockquote>
      );
    case "list": {
      const items = b.items.map((it, j) => (
        <li key={j} className="my-1 leading-relaxed">
          {renderInline(it.text, `${key}-${j}`)}
          {it.children.map((c, h) => renderBlock(c, `${key}-${j}-${h}`, headingOffset))}
        </li>
      ));
      return b.ordered ? (
        <ol key={key} start={b.start === 1 ? undefined : b.start} className="my-3 list-decimal space-y-1 pl-6">
          {items}
        </ol>
      ) : (
        <ul key={key} className="my-3 list-disc space-y-1 pl-6">
          {items}
        </ul>
      );
    }
    case "table":
      return (
        <div key={key} className="my-4 overflow-x-auto" tabIndex={0} role="region" aria-label="Tableau">
          <table className="min-w-full border-collapse text-sm">
            <thead>
              <tr>
                {b.head.map((h, j) => (
                  <th key={j} scope="col" style={{ textAlign: b.align[j] }} className="border border-slate-300 bg-slate-100 px-3 py-1.5 font-semibold dark:border-slate-700 dark:bg-slate-800">
                    {renderInline(h, `${key}-h${j}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r, j) => (
                <tr key={j}>
                  {b.head.map((_, c) => (
                    <td key={c} style={{ textAlign: b.align[c] }} className="border border-slate-300 px-3 py-1.5 dark:border-slate-700">
                      {renderInline(r[c] ?? "", `${key}-${j}-${c}`)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

/** `headingOffset`: added to Markdown heading levels (a section's `#` under the page's h2). */
export function Markdown({ source, headingOffset = 2 }: { source: string; headingOffset?: number }) {
  return <div className="md">{parseBlocks(source).map((b, i) => renderBlock(b, `b${i}`, headingOffset))}</div>;
}
