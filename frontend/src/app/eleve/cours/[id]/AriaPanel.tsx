"use client";

// ARIA beside the course reader: a column next to the section on wide screens (xl,
// 1280 px and more), a sheet behind a "Demander à ARIA" button below that (a phone, a
// tablet, a narrow window). The sheet is a modal dialog: the focus goes to the question
// when it opens, stays inside while it is open (Tab cycles), Escape or "Fermer" closes
// it and gives the focus back to the button. The conversation lives on while the sheet
// is closed (an answer keeps streaming), and across pages of the tab: its session id
// is kept in sessionStorage and reloaded from ARIA.
// Loaded lazily (next/dynamic) by the reader: none of this is in its first load.
import { useCallback, useEffect, useId, useRef, useState, useSyncExternalStore } from "react";
import { AriaChat } from "@/components/aria/AriaChat";
import { Chat } from "@/components/aria/icons";
import { sourceHref } from "@/lib/aria/conversation";
import type { AriaChatRequest, AriaSource } from "@/lib/aria/types";

const WIDE = "(min-width: 80rem)";
const SESSION_KEY = "nexus-aria-session";

function subscribeWide(fn: () => void) {
  const mq = window.matchMedia(WIDE);
  mq.addEventListener("change", fn);
  return () => mq.removeEventListener("change", fn);
}
const isWide = () => window.matchMedia(WIDE).matches;

function storedSession(): string | null {
  try {
    return window.sessionStorage.getItem(SESSION_KEY);
  } catch {
    return null;
  }
}

export type AriaPanelProps = {
  courseId: number;
  level: string;
  sectionTitle: string | null;
  /** Opens a section of this course in the reader. */
  openSection: (sectionId: string) => void;
};

export default function AriaPanel({ courseId, level, sectionTitle, openSection }: AriaPanelProps) {
  const wide = useSyncExternalStore(subscribeWide, isWide, () => false);
  const [open, setOpen] = useState(false);
  const [sessionId, setSessionId] = useState<string | null>(storedSession);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const dialogId = useId();
  const titleId = useId();

  const context: AriaChatRequest["context"] = {
    currentCourse: courseId,
    // Retrieval looks in the courses of this level: the one being read.
    ...(level === "premiere" || level === "terminale" ? { userLevel: level } : {}),
  };

  const onSession = useCallback((id: string | null) => {
    setSessionId(id);
    try {
      if (id) window.sessionStorage.setItem(SESSION_KEY, id);
      else window.sessionStorage.removeItem(SESSION_KEY);
    } catch {
      /* private mode: the conversation just is not kept across pages */
    }
  }, []);

  const close = useCallback(() => {
    setOpen(false);
    buttonRef.current?.focus();
  }, []);

  const onOpenSource = useCallback(
    (s: AriaSource) => {
      if (s.courseId !== courseId) return false;
      if (!wide) setOpen(false);
      // The address says which section is shown (a link to share, Back returns);
      // the conversation stays on the screen.
      window.history.pushState(null, "", sourceHref(s));
      openSection(s.sectionId);
      return true;
    },
    [courseId, openSection, wide],
  );

  // The sheet: focus in, Tab kept inside, Escape closes.
  useEffect(() => {
    if (wide || !open) return;
    inputRef.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
        return;
      }
      if (e.key !== "Tab" || !dialogRef.current) return;
      const focusable = [...dialogRef.current.querySelectorAll<HTMLElement>('a[href], button:not([disabled]), textarea, input, [tabindex]:not([tabindex="-1"])')].filter(
        (el) => el.offsetParent !== null,
      );
      const first = focusable[0];
      const lastEl = focusable[focusable.length - 1];
      if (!first || !lastEl) return;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        lastEl.focus();
      } else if (!e.shiftKey && document.activeElement === lastEl) {
        e.preventDefault();
        first.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    return () => {
      document.removeEventListener("keydown", onKey);
      document.body.style.overflow = overflow;
    };
  }, [wide, open, close]);

  const chat = (
    <AriaChat
      sessionId={sessionId}
      onSession={onSession}
      context={context}
      about={sectionTitle}
      onOpenSource={onOpenSource}
      inputRef={inputRef}
      actions={
        wide ? null : (
          <button
            type="button"
            onClick={close}
            className="rounded-md border border-slate-400 px-3 py-1.5 text-sm text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800"
          >
            Fermer<span className="sr-only"> ARIA</span>
          </button>
        )
      }
    />
  );

  if (wide) {
    return (
      <aside aria-label="ARIA, ton tuteur" className="sticky top-4 flex h-[calc(100vh-2rem)] max-h-[56rem] flex-col overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
        {chat}
      </aside>
    );
  }

  return (
    <>
      <button
        ref={buttonRef}
        type="button"
        aria-expanded={open}
        aria-controls={dialogId}
        onClick={() => setOpen(true)}
        className="fixed right-4 bottom-4 z-30 inline-flex items-center gap-2 rounded-full bg-accent-700 px-5 py-3 font-semibold text-white shadow-lg hover:bg-accent-800"
      >
        <Chat /> Demander à ARIA
      </button>
      <div
        id={dialogId}
        hidden={!open}
        className="fixed inset-0 z-40"
      >
        <div aria-hidden="true" className="absolute inset-0 bg-slate-900/40" onClick={close} />
        <div
          ref={dialogRef}
          role="dialog"
          aria-modal="true"
          aria-labelledby={titleId}
          className="absolute inset-x-0 bottom-0 flex h-[88dvh] flex-col overflow-hidden rounded-t-2xl bg-white shadow-2xl sm:inset-x-auto sm:top-0 sm:right-0 sm:h-full sm:w-[28rem] sm:rounded-none dark:bg-slate-900"
        >
          <span id={titleId} className="sr-only">
            ARIA, ton tuteur
          </span>
          {chat}
        </div>
      </div>
    </>
  );
}
