// The state of a conversation with ARIA, as a reducer (pure, unit-tested): questions,
// answers being streamed, stored answers, ratings. The component feeds it the stream's
// frames; nothing here touches the network or the DOM.
import type { AriaFrame, AriaGeneration, AriaPolicy, AriaSource, AriaStoredMessage } from "./types";

export type Question = { kind: "question"; key: string; text: string };
export type AnswerState =
  /** Sent, nothing received yet. */
  | "waiting"
  /** Pieces are arriving. */
  | "streaming"
  /** The stored answer arrived (`ai_response`). */
  | "done"
  /** The student pressed "Arrêter": ARIA still finishes and stores it. */
  | "stopped"
  /** Refused or broken: `error` says why (ARIA's French message). */
  | "failed";
export type Answer = {
  kind: "answer";
  key: string;
  text: string;
  state: AnswerState;
  sources: AriaSource[];
  messageId: number | null;
  policy: AriaPolicy | null;
  generation: AriaGeneration | null;
  /** The model failed and the answer from the courses follows (`model_unavailable`). */
  notice: string | null;
  error: string | null;
  errorCode: string | null;
  helpful: boolean | null;
};
export type Entry = Question | Answer;

export type Conversation = {
  sessionId: string | null;
  entries: Entry[];
  /** Who reads the conversations (ARIA's own words), once known. */
  oversight: string | null;
};

export type Action =
  | { type: "ask"; key: string; text: string }
  | { type: "frame"; key: string; frame: AriaFrame }
  | { type: "failed"; key: string; message: string; code?: string }
  | { type: "stopped"; key: string }
  /** The stream ended: an answer still without its `ai_response` is broken off. */
  | { type: "ended"; key: string; message: string }
  | { type: "rated"; messageId: number; helpful: boolean | null }
  | { type: "load"; sessionId: string; messages: AriaStoredMessage[] }
  | { type: "oversight"; text: string }
  | { type: "reset" };

export const EMPTY: Conversation = { sessionId: null, entries: [], oversight: null };

function newAnswer(key: string): Answer {
  return {
    kind: "answer",
    key,
    text: "",
    state: "waiting",
    sources: [],
    messageId: null,
    policy: null,
    generation: null,
    notice: null,
    error: null,
    errorCode: null,
    helpful: null,
  };
}

const answerKey = (key: string) => `${key}:a`;

function updateAnswer(c: Conversation, key: string, fn: (a: Answer) => Answer): Conversation {
  const k = answerKey(key);
  return { ...c, entries: c.entries.map((e) => (e.kind === "answer" && e.key === k ? fn(e) : e)) };
}

/** Still being written (or waiting): the form is busy. */
export const isPending = (a: Answer) => a.state === "waiting" || a.state === "streaming";

export function conversationReducer(c: Conversation, action: Action): Conversation {
  switch (action.type) {
    case "ask":
      return {
        ...c,
        entries: [...c.entries, { kind: "question", key: action.key, text: action.text }, newAnswer(answerKey(action.key))],
      };
    case "frame": {
      const f = action.frame;
      switch (f.type) {
        case "typing":
          return c;
        case "ai_chunk":
          return updateAnswer(c, action.key, (a) => (isPending(a) ? { ...a, text: a.text + f.content, state: "streaming" } : a));
        case "error":
          // The model failed: an answer from the courses follows. Anything else ends it.
          if (f.code === "model_unavailable") return updateAnswer(c, action.key, (a) => ({ ...a, notice: f.message }));
          return updateAnswer(c, action.key, (a) => ({ ...a, state: "failed", error: f.message, errorCode: f.code }));
        case "ai_response":
          return {
            ...updateAnswer(c, action.key, (a) => ({
              ...a,
              // The stored answer replaces what the pieces showed (after a fallback or
              // moderation they differ).
              text: f.content,
              state: a.state === "stopped" ? "stopped" : "done",
              sources: f.sources ?? [],
              messageId: f.metadata?.messageId ?? null,
              policy: f.metadata?.policy ?? null,
              generation: f.metadata?.generation ?? null,
            })),
            sessionId: f.sessionId ?? c.sessionId,
            oversight: f.metadata?.oversight ?? c.oversight,
          };
        default:
          return c;
      }
    }
    case "failed":
      return updateAnswer(c, action.key, (a) => ({ ...a, state: "failed", error: action.message, errorCode: action.code ?? null }));
    case "stopped":
      return updateAnswer(c, action.key, (a) => (isPending(a) ? { ...a, state: "stopped" } : a));
    case "ended":
      return updateAnswer(c, action.key, (a) => (isPending(a) ? { ...a, state: "failed", error: action.message, errorCode: "stream_ended" } : a));
    case "rated":
      return {
        ...c,
        entries: c.entries.map((e) => (e.kind === "answer" && e.messageId === action.messageId ? { ...e, helpful: action.helpful } : e)),
      };
    case "load":
      return {
        ...c,
        sessionId: action.sessionId,
        entries: action.messages.map((m): Entry =>
          m.messageType === "user"
            ? { kind: "question", key: `m${m.id}`, text: m.content }
            : {
                ...newAnswer(`m${m.id}`),
                text: m.content,
                state: "done",
                sources: m.sources ?? [],
                messageId: m.id,
                helpful: m.helpful,
              },
        ),
      };
    case "oversight":
      return c.oversight === action.text ? c : { ...c, oversight: action.text };
    case "reset":
      return { ...EMPTY, oversight: c.oversight };
  }
}

/** `/eleve/cours/{courseId}?section={sectionId}`: the reader opens that section. */
export function sourceHref(s: Pick<AriaSource, "courseId" | "sectionId">): string {
  return `/eleve/cours/${s.courseId}?section=${encodeURIComponent(s.sectionId)}`;
}
