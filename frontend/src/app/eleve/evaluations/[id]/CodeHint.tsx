"use client";

// "Demander un indice à ARIA" under a code question: ARIA, told which attempt and
// question (`context.attemptId`, `context.questionId`), reads the student's latest run —
// their code and the first visible test that fails — and hints from there (never the
// hidden tests, never a solution: docs/ARIA.md, "ARIA sees the failing test"). Shown when
// the assessment's help mode lets ARIA help; loaded only when opened.
import dynamic from "next/dynamic";
import { useState } from "react";
import { SECONDARY_BUTTON, Skeleton } from "@/components/ui";

const AriaChat = dynamic(() => import("@/components/aria/AriaChat").then((m) => m.AriaChat), {
  ssr: false,
  loading: () => <Skeleton lines={2} />,
});

export function CodeHint({ attemptId, questionId, base, hintsOnly }: { attemptId: number; questionId: string; base: string; hintsOnly: boolean }) {
  const [open, setOpen] = useState(false);
  // The conversation lives while the page does (a new one each visit).
  const [sessionId, setSessionId] = useState<string | null>(null);
  const panelId = `${base}-aria`;
  return (
    <div className="space-y-2" data-testid="indice-aria">
      <div className="flex flex-wrap items-center gap-3">
        <button type="button" className={SECONDARY_BUTTON} aria-expanded={open} aria-controls={panelId} onClick={() => setOpen((o) => !o)}>
          {open ? "Fermer ARIA" : hintsOnly ? "Demander un indice à ARIA" : "Demander de l'aide à ARIA"}
        </button>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          ARIA voit votre dernier code exécuté et le premier test d&apos;exemple qui échoue, jamais les tests cachés.
        </p>
      </div>
      {open && (
        <div id={panelId} className="flex h-[32rem] max-h-[80dvh] flex-col overflow-hidden rounded-xl border border-slate-200 dark:border-slate-700">
          <AriaChat
            sessionId={sessionId}
            onSession={setSessionId}
            context={{ attemptId, questionId }}
            title={hintsOnly ? "ARIA — un indice sur cette question" : "ARIA — de l'aide sur cette question"}
            headingLevel={3}
          />
        </div>
      )}
    </div>
  );
}
