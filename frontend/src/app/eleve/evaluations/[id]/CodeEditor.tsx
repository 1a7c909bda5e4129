"use client";

// CodeMirror 6 with Python mode, for code answers. Loaded with next/dynamic by the
// question that needs it, so pages without code questions never download it.
import { useEffect, useRef } from "react";
import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLineGutter, keymap, lineNumbers } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, defaultHighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

export type CodeEditorProps = {
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  /** The id of the element naming the editor (the question's prompt). */
  labelledBy: string;
  describedBy?: string;
};

// Light colours with a contrast of at least 4.5:1 (axe), in light and dark mode alike.
const theme = EditorView.theme({
  "&": { backgroundColor: "#ffffff", color: "#0f172a", fontSize: "15px", borderRadius: "0.375rem" },
  "&.cm-focused": { outline: "3px solid #4f46e5", outlineOffset: "2px" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", minHeight: "10rem", caretColor: "#0f172a" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", lineHeight: "1.5" },
  ".cm-gutters": { backgroundColor: "#f1f5f9", color: "#475569", borderRight: "1px solid #cbd5e1" },
  ".cm-activeLineGutter": { backgroundColor: "#e2e8f0", color: "#0f172a" },
  ".cm-cursor": { borderLeftColor: "#0f172a", borderLeftWidth: "2px" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": { backgroundColor: "#bfdbfe" },
});

export default function CodeEditor({ value, onChange, onBlur, labelledBy, describedBy }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const callbacks = useRef({ onChange, onBlur });
  useEffect(() => {
    callbacks.current = { onChange, onBlur };
  }, [onChange, onBlur]);

  useEffect(() => {
    if (!host.current) return;
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          indentUnit.of("    "),
          EditorState.tabSize.of(4),
          syntaxHighlighting(defaultHighlightStyle),
          python(),
          // Tab indents by 4 spaces and Shift+Tab dedents; Échap then Tab (or Shift+Tab) leaves
          // the editor (CodeMirror's escape hatch). The hint above the editor says so.
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          // No line wrapping: Python's indentation must stay readable, so a long line
          // scrolls the editor horizontally (on a phone too) instead of wrapping.
          EditorView.contentAttributes.of({
            "aria-labelledby": labelledBy,
            ...(describedBy ? { "aria-describedby": describedBy } : {}),
            // A long line scrolls `.cm-scroller` horizontally: its content must be
            // focusable for axe (scrollable-region-focusable); it already is one tab stop.
            tabindex: "0",
            spellcheck: "false",
            autocapitalize: "off",
            autocorrect: "off",
            "data-testid": "code-editor",
          }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
          EditorView.domEventHandlers({
            blur: () => {
              callbacks.current.onBlur?.();
            },
          }),
          theme,
        ],
      }),
    });
    return () => view.destroy();
    // The editor owns its text once created: `value` is only its starting content.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [labelledBy, describedBy]);

  return <div ref={host} className="min-w-0 max-w-full overflow-hidden rounded-md border border-slate-400 dark:border-slate-600" />;
}
