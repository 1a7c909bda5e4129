// A light syntax highlighter for the courses' code (Python above all, SQL, HTML, CSS,
// JavaScript): a regular-expression tokenizer that returns React spans — no HTML string,
// no inline script or style, nothing for the CSP to allow, about 2 kB. Colours keep a
// contrast ratio of at least 4.5:1 on the block's background.
import type { ReactNode } from "react";

type Kind = "kw" | "str" | "com" | "num" | "fn" | "tag";

const PY_KW =
  "False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|except|finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|return|try|while|with|yield";
const PY_BUILTIN =
  "print|len|range|int|float|str|bool|list|dict|set|tuple|input|abs|min|max|sum|sorted|enumerate|zip|map|filter|open|type|isinstance|round|ord|chr|bin|hex|append|pop|self";
const SQL_KW =
  "SELECT|FROM|WHERE|AND|OR|NOT|INSERT|INTO|VALUES|UPDATE|SET|DELETE|CREATE|TABLE|PRIMARY|KEY|FOREIGN|REFERENCES|JOIN|INNER|LEFT|ON|AS|ORDER|BY|ASC|DESC|GROUP|HAVING|DISTINCT|COUNT|SUM|AVG|MIN|MAX|LIKE|IN|IS|NULL|INT|INTEGER|TEXT|VARCHAR|DATE|FLOAT|REAL|UNIQUE|LIMIT|BETWEEN";
const JS_KW =
  "const|let|var|function|return|if|else|for|while|do|break|continue|new|this|class|extends|import|export|from|true|false|null|undefined|typeof|async|await|try|catch|finally|throw|of|in";

interface Lang {
  rules: [Kind | null, RegExp][];
}

function lang(comment: RegExp | null, keywords: string | null, builtins: string | null, flags = ""): Lang {
  const rules: [Kind | null, RegExp][] = [];
  if (comment) rules.push(["com", comment]);
  rules.push(["str", /"""[\s\S]*?"""|'''[\s\S]*?'''|[fbr]?"(?:\\.|[^"\\\n])*"|[fbr]?'(?:\\.|[^'\\\n])*'/y]);
  rules.push(["num", /\b(?:0[xob][\da-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?)\b/y]);
  if (keywords) rules.push(["kw", new RegExp(`\\b(?:${keywords})\\b`, `y${flags}`)]);
  if (builtins) rules.push(["fn", new RegExp(`\\b(?:${builtins})\\b`, "y")]);
  rules.push([null, /[\p{L}_][\p{L}\d_]*|\s+|./uy]);
  return { rules };
}

const LANGS: Record<string, Lang> = {
  python: lang(/#[^\n]*/y, PY_KW, PY_BUILTIN),
  sql: lang(/--[^\n]*/y, SQL_KW, null, "i"),
  javascript: lang(/\/\/[^\n]*|\/\*[\s\S]*?\*\//y, JS_KW, null),
  css: {
    rules: [
      ["com", /\/\*[\s\S]*?\*\//y],
      ["str", /"[^"\n]*"|'[^'\n]*'/y],
      ["kw", /[\w-]+(?=\s*:)/y],
      ["num", /#[\da-fA-F]{3,8}\b|\d+(?:\.\d+)?(?:px|em|rem|%|vh|vw)?/y],
      [null, /[\p{L}_][\p{L}\d_-]*|\s+|./uy],
    ],
  },
  html: {
    rules: [
      ["com", /<!--[\s\S]*?-->/y],
      ["tag", /<\/?[a-zA-Z][\w-]*|\/?>/y],
      ["str", /"[^"]*"|'[^']*'/y],
      ["kw", /[\w-]+(?==)/y],
      [null, /[^<"'=\s]+|\s+|./y],
    ],
  },
};
const ALIASES: Record<string, string> = { py: "python", python3: "python", js: "javascript", ts: "javascript", htm: "html", xml: "html" };

export const TOKEN_CLASS: Record<Kind, string> = {
  kw: "font-semibold text-violet-800 dark:text-violet-300",
  str: "text-emerald-800 dark:text-emerald-300",
  com: "italic text-slate-600 dark:text-slate-400",
  num: "text-amber-800 dark:text-amber-300",
  fn: "text-sky-800 dark:text-sky-300",
  tag: "text-rose-800 dark:text-rose-300",
};

/** The code as [kind, text] tokens; `kind` null for plain text. */
export function tokenize(code: string, language: string): [Kind | null, string][] {
  const l = LANGS[ALIASES[language] ?? language];
  if (!l) return [[null, code]];
  const out: [Kind | null, string][] = [];
  let pos = 0;
  while (pos < code.length) {
    let matched = false;
    for (const [kind, re] of l.rules) {
      re.lastIndex = pos;
      const m = re.exec(code);
      if (m && m[0].length > 0) {
        const prev = out[out.length - 1];
        if (prev && prev[0] === kind && kind === null) prev[1] += m[0];
        else out.push([kind, m[0]]);
        pos += m[0].length;
        matched = true;
        break;
      }
    }
    if (!matched) {
      out.push([null, code.charAt(pos)]);
      pos++;
    }
  }
  return out;
}

const LABELS: Record<string, string> = { python: "Python", sql: "SQL", javascript: "JavaScript", css: "CSS", html: "HTML" };

export function CodeBlock({ code, lang: language = "" }: { code: string; lang?: string }) {
  const name = ALIASES[language] ?? language;
  const nodes: ReactNode[] = tokenize(code, name).map(([kind, text], i) =>
    kind ? (
      <span key={i} className={TOKEN_CLASS[kind]}>
        {text}
      </span>
    ) : (
      text
    ),
  );
  return (
    <figure className="my-4">
      {LABELS[name] && <figcaption className="sr-only">Code {LABELS[name]}</figcaption>}
      <pre
        tabIndex={0}
        className="overflow-x-auto rounded-lg border border-slate-200 bg-slate-50 p-4 text-sm leading-relaxed text-slate-900 dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100"
      >
        <code className={name ? `language-${name}` : undefined}>{nodes}</code>
      </pre>
    </figure>
  );
}
