"use client";

// A conversation with ARIA: the questions, the answers streamed as they are written
// (safe Markdown, code highlighted), their sources, the exam-mode refusal explained,
// helpful / unhelpful, and the form. Used beside the course reader and on /eleve/aria.
// Screen readers get a short status ("ARIA rédige sa réponse…", "Réponse d'ARIA
// reçue.") instead of every piece: the answer itself is not a live region.
import Link from "next/link";
import { useEffect, useId, useReducer, useRef, useState, type FormEvent, type KeyboardEvent, type MouseEvent } from "react";
import { Markdown } from "@/lib/markdown";
import { aria, askAria } from "@/lib/aria/client";
import { EMPTY, conversationReducer, isPending, sourceHref, type Answer } from "@/lib/aria/conversation";
import type { AriaChatRequest, AriaSource } from "@/lib/aria/types";
import { Eye, Lock, ThumbDown, ThumbUp } from "./icons";

const MAX_LENGTH = 4000;
const BROKEN_OFF = "La réponse a été interrompue. Elle sera enregistrée dans tes conversations si ARIA a pu la terminer.";

export type AriaChatProps = {
  /** Continue this session (its messages are loaded first). */
  sessionId?: string | null;
  /** Told of the session once ARIA names it (a new conversation) or when it is cleared. */
  onSession?: (sessionId: string | null) => void;
  /** Sent with each question (`context`): the course being read, its level. */
  context?: AriaChatRequest["context"];
  /** What the student is reading, shown above the form. */
  about?: string | null;
  /** A source of the course being read: open its section in place (return true), or follow the link. */
  onOpenSource?: (source: AriaSource) => boolean;
  /** The heading's level and text (the panel's h2, or an h2 on the sessions page). */
  title?: string;
  /** Extra controls in the header (the drawer's "Fermer"). */
  actions?: React.ReactNode;
  /** Called with the textarea, so a drawer can focus it when it opens. */
  inputRef?: React.RefObject<HTMLTextAreaElement | null>;
  /** An answer arrived (the sessions page updates its list). */
  onAnswered?: () => void;
  /** Show ARIA's oversight notice under the form (the sessions page shows it once, above). */
  showOversight?: boolean;
  /** The heading's level: 2 beside a course, 3 under the sessions page's "Conversation". */
  headingLevel?: 2 | 3;
};

export function AriaChat({ sessionId = null, onSession, context, about, onOpenSource, title = "ARIA, ton tuteur", actions, inputRef, onAnswered, showOversight = true, headingLevel = 2 }: AriaChatProps) {
  const [conversation, dispatch] = useReducer(conversationReducer, EMPTY);
  const [draft, setDraft] = useState("");
  const [loadError, setLoadError] = useState<string | null>(null);
  const [announce, setAnnounce] = useState("");
  const abortRef = useRef<AbortController | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const ownInput = useRef<HTMLTextAreaElement>(null);
  const textarea = inputRef ?? ownInput;
  const counter = useRef(0);
  const headingId = useId();
  const inputId = useId();
  const aboutId = useId();

  // A session to continue: its messages first. A conversation started here is already
  // in the state when ARIA names its session (no reload then).
  const loadedFor = useRef<string | null>(null);
  useEffect(() => {
    if (!sessionId || sessionId === loadedFor.current || sessionId === conversation.sessionId) return;
    loadedFor.current = sessionId;
    let alive = true;
    void aria.session(sessionId).then(({ data, error }) => {
      if (!alive) return;
      if (data) {
        dispatch({ type: "load", sessionId: data.sessionId, messages: data.messages });
        setLoadError(null);
      } else if (error.status === 404) onSession?.(null);
      else setLoadError(error.error);
    });
    return () => {
      alive = false;
    };
    // Only a new session id reloads; the callback's identity does not matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionId]);

  // Who reads the conversations, in ARIA's words, before the first question.
  useEffect(() => {
    if (!showOversight) return;
    let alive = true;
    void aria.sessions().then(({ data }) => {
      if (alive && data?.oversight) dispatch({ type: "oversight", text: data.oversight });
    });
    return () => {
      alive = false;
    };
  }, [showOversight]);

  // Stop reading when the component goes away (ARIA still stores the answer).
  useEffect(() => () => abortRef.current?.abort(), []);

  const Heading = headingLevel === 3 ? "h3" : "h2";
  const pending = conversation.entries.some((e) => e.kind === "answer" && isPending(e));
  const last = conversation.entries[conversation.entries.length - 1];

  // Keep the newest text in view while it is written.
  const lastText = last?.kind === "answer" ? last.text.length : 0;
  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [conversation.entries.length, lastText]);

  async function send(text: string) {
    const message = text.trim();
    if (!message || pending) return;
    const key = `q${++counter.current}`;
    dispatch({ type: "ask", key, text: message });
    setDraft("");
    setAnnounce("ARIA rédige sa réponse…");
    const controller = new AbortController();
    abortRef.current = controller;
    // Set from the callback: an object, so that TypeScript does not narrow it to null.
    const named: { sessionId: string | null } = { sessionId: null };
    const outcome = await askAria(
      { message, ...(conversation.sessionId ? { sessionId: conversation.sessionId } : {}), ...(context ? { context } : {}) },
      (frame) => {
        dispatch({ type: "frame", key, frame });
        if (frame.type === "ai_response") {
          named.sessionId = frame.sessionId;
          setAnnounce(frame.metadata?.policy === "exam_refused" ? "ARIA ne peut pas t'aider sur ce sujet pendant ton évaluation." : "Réponse d'ARIA reçue.");
        } else if (frame.type === "error" && frame.code !== "model_unavailable") setAnnounce(frame.message);
      },
      controller.signal,
    );
    if (abortRef.current === controller) abortRef.current = null;
    if (outcome.ok) {
      dispatch({ type: "ended", key, message: BROKEN_OFF });
      if (named.sessionId && named.sessionId !== conversation.sessionId) {
        loadedFor.current = named.sessionId;
        onSession?.(named.sessionId);
      }
      onAnswered?.();
    } else if ("aborted" in outcome) {
      dispatch({ type: "stopped", key });
      setAnnounce("Réponse arrêtée.");
    } else {
      const { error } = outcome;
      const wait = error.retryAfter ? ` ${retryText(error.retryAfter)}` : "";
      dispatch({ type: "failed", key, message: `${error.error}${wait}`, code: error.code });
      setAnnounce(error.error);
      setDraft(message); // not stored by ARIA: the student may send it again
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    void send(draft);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter goes to the next line.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send(draft);
    }
  }

  function newConversation() {
    abortRef.current?.abort();
    dispatch({ type: "reset" });
    loadedFor.current = null;
    onSession?.(null);
    setAnnounce("Nouvelle conversation.");
    textarea.current?.focus();
  }

  return (
    <section aria-labelledby={headingId} className="flex h-full min-h-0 flex-col" data-testid="aria-chat">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1 border-b border-slate-200 px-4 py-3 dark:border-slate-700">
        <Heading id={headingId} className="min-w-0 flex-1 basis-40 text-lg font-semibold break-words">
          {title}
        </Heading>
        {conversation.entries.length > 0 && (
          <button
            type="button"
            onClick={newConversation}
            className="rounded-md px-2 py-1 text-sm text-accent-800 underline-offset-2 hover:underline dark:text-accent-100"
          >
            {/* In the sheet (a phone) the short label keeps "Fermer" on the same line. */}
            Nouvelle<span className={actions ? "sr-only" : undefined}> conversation</span>
          </button>
        )}
        {actions}
      </div>

      <p className="sr-only" role="status" aria-live="polite">
        {announce}
      </p>
      {loadError && (
        <p role="alert" className="mx-4 mt-3 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {loadError}
        </p>
      )}

      <ol ref={listRef} aria-label="Conversation avec ARIA" className="min-h-0 flex-1 space-y-4 overflow-y-auto px-4 py-4" tabIndex={-1}>
        {conversation.entries.length === 0 && (
          <li className="text-slate-700 dark:text-slate-300">
            <p>Pose une question sur ce que tu lis : ARIA t&apos;explique à partir des cours et te montre où relire.</p>
          </li>
        )}
        {conversation.entries.map((entry) => (
          <li key={entry.key}>
            {entry.kind === "question" ? (
              <QuestionBubble text={entry.text} />
            ) : (
              <AnswerBlock answer={entry} onOpenSource={onOpenSource} onRated={(messageId, helpful) => dispatch({ type: "rated", messageId, helpful })} />
            )}
          </li>
        ))}
      </ol>

      <form onSubmit={onSubmit} className="border-t border-slate-200 px-4 py-3 dark:border-slate-700" aria-describedby={about ? aboutId : undefined}>
        {about && (
          <p id={aboutId} className="mb-1 truncate text-sm text-slate-700 dark:text-slate-300">
            À propos de : <span className="font-medium">{about}</span>
          </p>
        )}
        <label htmlFor={inputId} className="font-medium">
          Ta question
        </label>
        <textarea
          id={inputId}
          ref={textarea}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          maxLength={MAX_LENGTH}
          rows={2}
          placeholder="Par exemple : pourquoi faut-il un cas de base ?"
          className="mt-1 block w-full resize-y rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 placeholder:text-slate-500 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
        />
        <div className="mt-2 flex items-center gap-2">
          <p className="flex-1 text-xs text-slate-600 dark:text-slate-400">Entrée pour envoyer, Maj + Entrée pour aller à la ligne.</p>
          {pending ? (
            <button
              type="button"
              onClick={() => {
                abortRef.current?.abort();
                // "Arrêter" gives way to "Envoyer": the focus goes back to the question.
                textarea.current?.focus();
              }}
              className="rounded-md border border-red-700 px-4 py-2 font-medium text-red-800 hover:bg-red-50 dark:border-red-400 dark:text-red-200 dark:hover:bg-red-950"
            >
              Arrêter
            </button>
          ) : (
            <button
              type="submit"
              disabled={!draft.trim()}
              className="rounded-md bg-accent-700 px-4 py-2 font-medium text-white hover:bg-accent-800 disabled:cursor-not-allowed disabled:opacity-60"
            >
              Envoyer
            </button>
          )}
        </div>
        {showOversight && conversation.oversight && (
          <p className="mt-2 flex gap-1.5 text-xs text-slate-600 dark:text-slate-400" data-testid="aria-oversight">
            <Eye className="mt-0.5 h-3.5 w-3.5 shrink-0" />
            <span>{conversation.oversight}</span>
          </p>
        )}
      </form>
    </section>
  );
}

function retryText(seconds: number): string {
  if (seconds < 90) return `Tu pourras réessayer dans ${Math.max(1, Math.round(seconds))} s.`;
  if (seconds < 5400) return `Tu pourras réessayer dans ${Math.round(seconds / 60)} min.`;
  return `Tu pourras réessayer dans ${Math.round(seconds / 3600)} h.`;
}

function QuestionBubble({ text }: { text: string }) {
  return (
    <div className="ml-6 rounded-lg bg-accent-50 px-3 py-2 text-slate-900 dark:bg-slate-800 dark:text-slate-100">
      <p className="sr-only">Ta question :</p>
      <p className="whitespace-pre-wrap break-words">{text}</p>
    </div>
  );
}

const GENERATION_NOTE: Record<string, string> = {
  disabled: "ARIA répond à partir des cours (génération désactivée).",
  fallback: "ARIA répond à partir des cours : le modèle de langage n'a pas pu répondre.",
  moderated: "Réponse remplacée par des extraits des cours.",
};

function AnswerBlock({ answer, onOpenSource, onRated }: { answer: Answer; onOpenSource?: (s: AriaSource) => boolean; onRated: (messageId: number, helpful: boolean | null) => void }) {
  const streaming = isPending(answer);
  if (answer.policy === "exam_refused") return <ExamRefusal answer={answer} />;
  const note = answer.notice ?? (answer.generation ? GENERATION_NOTE[answer.generation] : undefined);
  return (
    <article
      aria-label="Réponse d'ARIA"
      aria-busy={streaming}
      data-testid="aria-answer"
      data-state={answer.state}
      data-generation={answer.generation ?? undefined}
      className="min-w-0 rounded-lg border border-slate-200 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-900"
    >
      <p className="text-sm font-semibold text-accent-800 dark:text-accent-100">ARIA</p>
      {answer.policy === "hints" && (
        <p className="mt-1 rounded bg-amber-50 px-2 py-1 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-100">
          Une évaluation est en cours : ARIA te donne des pistes, pas la solution.
        </p>
      )}
      {note && <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">{note}</p>}
      {answer.state === "waiting" && (
        <p className="mt-1 text-slate-700 dark:text-slate-300">
          ARIA réfléchit<span aria-hidden="true" className="animate-pulse">…</span>
        </p>
      )}
      {answer.text && (
        <div className="aria-answer text-[0.95rem]" data-testid="aria-answer-text">
          <Markdown source={answer.text} headingOffset={2} />
          {answer.state === "streaming" && <span aria-hidden="true" className="inline-block h-4 w-2 animate-pulse bg-slate-500 align-middle" />}
        </div>
      )}
      {answer.state === "stopped" && (
        <p className="mt-2 text-sm text-slate-700 dark:text-slate-300">
          Tu as arrêté l&apos;affichage. ARIA termine quand même sa réponse : tu la retrouveras dans tes conversations.
        </p>
      )}
      {answer.state === "failed" && answer.error && (
        <p role="alert" className="mt-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          {answer.error}
        </p>
      )}
      {answer.sources.length > 0 && <Sources sources={answer.sources} onOpenSource={onOpenSource} />}
      {answer.state === "done" && answer.messageId !== null && <Rating answer={answer} onRated={onRated} />}
    </article>
  );
}

/** The help policy at work: an explanation, not an error. */
function ExamRefusal({ answer }: { answer: Answer }) {
  return (
    <article
      aria-label="ARIA en mode examen"
      data-testid="aria-exam-refusal"
      data-state={answer.state}
      className="rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50"
    >
      <p className="flex items-center gap-1.5 font-semibold">
        <Lock className="h-4 w-4 shrink-0" />
        Mode examen : ARIA ne t&apos;aidera pas sur ce DS
      </p>
      <div className="mt-1">
        <Markdown source={answer.text} headingOffset={2} />
      </div>
      <p className="mt-1 text-sm">
        Ce n&apos;est pas une panne : pendant une évaluation en cours, ton enseignant a choisi qu&apos;ARIA ne réponde pas aux questions sur son contenu. Une fois ta copie rendue,
        tu pourras lui reposer ta question.
      </p>
    </article>
  );
}

function Sources({ sources, onOpenSource }: { sources: AriaSource[]; onOpenSource?: (s: AriaSource) => boolean }) {
  function click(e: MouseEvent<HTMLAnchorElement>, s: AriaSource) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (onOpenSource?.(s)) e.preventDefault();
  }
  return (
    <div className="mt-3 border-t border-slate-200 pt-2 dark:border-slate-700">
      <p className="text-sm font-semibold">Sources</p>
      <ul className="mt-1 space-y-1 text-sm" data-testid="aria-sources">
        {sources.map((s) => (
          <li key={`${s.courseId}-${s.sectionId}`}>
            <Link href={sourceHref(s)} onClick={(e) => click(e, s)} className="text-accent-800 underline underline-offset-2 dark:text-accent-100">
              {s.sectionTitle}
            </Link>
            <span className="text-slate-700 dark:text-slate-300"> · {s.courseTitle}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Rating({ answer, onRated }: { answer: Answer; onRated: (messageId: number, helpful: boolean | null) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [thanks, setThanks] = useState<string | null>(null);
  const [commenting, setCommenting] = useState(false);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const commentId = useId();
  const id = answer.messageId!;

  async function rate(helpful: boolean, withComment?: string) {
    const before = answer.helpful;
    onRated(id, helpful);
    setBusy(true);
    setError(null);
    const { error: failed } = await aria.rate(id, helpful, withComment);
    setBusy(false);
    if (failed) {
      onRated(id, before);
      setError(failed.error);
      return;
    }
    setThanks(withComment ? "Merci, ton commentaire est envoyé." : "Merci pour ton avis !");
    if (withComment) {
      setCommenting(false);
      setComment("");
    }
  }

  const button =
    "inline-flex items-center gap-1 rounded-md border border-slate-400 px-2.5 py-1 text-sm text-slate-800 hover:bg-slate-100 aria-pressed:border-accent-700 aria-pressed:bg-accent-50 aria-pressed:font-semibold aria-pressed:text-accent-800 dark:text-slate-100 dark:hover:bg-slate-800 dark:aria-pressed:bg-slate-800 dark:aria-pressed:text-accent-100";
  return (
    <div className="mt-3" data-testid="aria-rating">
      <div role="group" aria-label="Cette réponse t'a-t-elle aidé ?" className="flex flex-wrap items-center gap-2">
        <span className="text-sm text-slate-700 dark:text-slate-300" aria-hidden="true">
          Utile ?
        </span>
        <button type="button" aria-pressed={answer.helpful === true} disabled={busy} onClick={() => void rate(true)} className={button}>
          <ThumbUp /> Utile
        </button>
        <button type="button" aria-pressed={answer.helpful === false} disabled={busy} onClick={() => void rate(false)} className={button}>
          <ThumbDown /> Pas utile
        </button>
        {answer.helpful !== null && !commenting && (
          <button type="button" onClick={() => setCommenting(true)} className="text-sm text-accent-800 underline underline-offset-2 dark:text-accent-100">
            Ajouter un commentaire
          </button>
        )}
      </div>
      <p role="status" className="mt-1 text-sm text-emerald-800 empty:hidden dark:text-emerald-300">
        {thanks}
      </p>
      {error && (
        <p role="alert" className="mt-1 text-sm text-red-800 dark:text-red-300">
          {error}
        </p>
      )}
      {commenting && answer.helpful !== null && (
        <form
          className="mt-2"
          onSubmit={(e) => {
            e.preventDefault();
            void rate(answer.helpful!, comment.trim() || undefined);
          }}
        >
          <label htmlFor={commentId} className="text-sm font-medium">
            Ton commentaire (facultatif)
          </label>
          <textarea
            id={commentId}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            maxLength={1000}
            rows={2}
            className="mt-1 block w-full rounded-md border border-slate-400 bg-white px-2 py-1 text-sm text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
          />
          <div className="mt-1 flex gap-2">
            <button type="submit" disabled={busy} className="rounded-md bg-accent-700 px-3 py-1 text-sm font-medium text-white hover:bg-accent-800 disabled:opacity-60">
              Envoyer le commentaire
            </button>
            <button type="button" onClick={() => setCommenting(false)} className="rounded-md px-3 py-1 text-sm text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800">
              Annuler
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
