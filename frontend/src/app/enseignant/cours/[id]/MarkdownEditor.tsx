"use client";
// A section's Markdown: a plain <textarea> (every keyboard, screen reader and phone
// knows it; Tab leaves it, so the focus is never trapped) under a toolbar that wraps
// the selection or prefixes its lines. The toolbar is one Tab stop; the arrows move
// inside it (WAI-ARIA toolbar pattern). Ctrl+B / Ctrl+I in the text do bold / italic.
import { useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { applyEdit, formatEdit, type Format } from "../authoring";
import { TextArea } from "@/components/ui";

const TOOLS: { format: Format; label: string; icon: string; keys?: string }[] = [
  { format: "heading", label: "Intertitre", icon: "T" },
  { format: "bold", label: "Gras", icon: "G", keys: "Control+B" },
  { format: "italic", label: "Italique", icon: "I", keys: "Control+I" },
  { format: "list", label: "Liste à puces", icon: "•" },
  { format: "ordered", label: "Liste numérotée", icon: "1." },
  { format: "link", label: "Lien", icon: "↗" },
  { format: "code", label: "Code dans le texte", icon: "`x`" },
  { format: "codeblock", label: "Bloc de code Python", icon: "{ }" },
];

export function MarkdownEditor({
  id,
  label,
  value,
  onChange,
  error,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [active, setActive] = useState(0);
  const toolbar = useRef<HTMLDivElement>(null);
  // The selection to restore once React has written a value it set itself.
  const pendingSelection = useRef<[number, number] | null>(null);

  useLayoutEffect(() => {
    const sel = pendingSelection.current;
    if (sel && ref.current) {
      ref.current.setSelectionRange(sel[0], sel[1]);
      pendingSelection.current = null;
    }
  });

  function apply(format: Format) {
    const ta = ref.current;
    if (!ta) return;
    const edit = formatEdit(ta.value, ta.selectionStart, ta.selectionEnd, format);
    ta.focus();
    ta.setSelectionRange(edit.from, edit.to);
    // insertText keeps the browser's undo history (Ctrl+Z undoes the button); where it
    // is not available the value is set and the selection restored after the render.
    let done = false;
    try {
      done = document.execCommand("insertText", false, edit.insert);
    } catch {
      done = false;
    }
    if (done && ta.value === applyEdit(value, edit)) {
      ta.setSelectionRange(edit.selStart, edit.selEnd);
    } else {
      pendingSelection.current = [edit.selStart, edit.selEnd];
      onChange(applyEdit(value, edit));
    }
  }

  function onToolbarKey(e: KeyboardEvent<HTMLDivElement>) {
    const last = TOOLS.length - 1;
    const next = e.key === "ArrowRight" ? (active === last ? 0 : active + 1) : e.key === "ArrowLeft" ? (active === 0 ? last : active - 1) : e.key === "Home" ? 0 : e.key === "End" ? last : null;
    if (next === null) return;
    e.preventDefault();
    setActive(next);
    toolbar.current?.querySelectorAll("button")[next]?.focus();
  }

  function onTextKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    const key = e.key.toLowerCase();
    if (key === "b" || key === "i") {
      e.preventDefault();
      apply(key === "b" ? "bold" : "italic");
    }
  }

  return (
    <TextArea
      ref={ref}
      id={id}
      label={label}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      onKeyDown={onTextKey}
      error={error}
      rows={18}
      spellCheck
      className="min-h-64 font-mono text-sm leading-relaxed"
      hint={
        <>
          Markdown : <code>## Intertitre</code>, <code>**gras**</code>, <code>*italique*</code>, <code>- liste</code>, <code>[lien](https://…)</code>, code entre{" "}
          <code>```python</code> et <code>```</code>. Ctrl+B et Ctrl+I mettent en gras et en italique. Tab quitte la zone de texte : indentez le code avec des
          espaces.
        </>
      }
      above={
        <div
          ref={toolbar}
          role="toolbar"
          aria-label="Mise en forme"
          aria-controls={id}
          onKeyDown={onToolbarKey}
          className="flex flex-wrap gap-1 rounded-md border border-slate-300 bg-slate-50 p-1 dark:border-slate-700 dark:bg-slate-800"
        >
          {TOOLS.map((t, i) => (
            <button
              key={t.format}
              type="button"
              tabIndex={i === active ? 0 : -1}
              title={t.label}
              aria-keyshortcuts={t.keys}
              onClick={() => {
                setActive(i);
                apply(t.format);
              }}
              className="min-w-9 rounded px-2 py-1 font-mono text-sm text-slate-800 hover:bg-white focus-visible:bg-white dark:text-slate-100 dark:hover:bg-slate-700"
            >
              <span aria-hidden="true">{t.icon}</span>
              <span className="sr-only">{t.label}</span>
            </button>
          ))}
        </div>
      }
    />
  );
}
