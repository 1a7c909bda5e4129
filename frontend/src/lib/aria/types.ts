// ARIA's payloads, typed by hand: its routes are not in the API's OpenAPI document
// (openapi.json is the main API's). From docs/API.md, section "ARIA", and the Rust
// structs of services/aria/src (tutor.rs, chat.rs, sessions.rs). The stream's frames
// come from shared/protocol (ws-protocol.ts).

import type { AriaServerFrame } from "@/lib/ws-protocol";

/** A course section an answer relies on (`sources`, best first, at most 3). */
export type AriaSource = {
  courseId: number;
  courseTitle: string;
  /** The section's id in the course's content (a string such as "ch2-s1"). */
  sectionId: string;
  sectionTitle: string;
  score?: number;
};

/** `explain`, `hints` (an assessment in progress), `exam_refused`, `support`. */
export type AriaPolicy = "explain" | "hints" | "exam_refused" | "support" | (string & {});
/** `enabled`, `disabled` (no model), `fallback`, `moderated`, `skipped` (a refusal). */
export type AriaGeneration = "enabled" | "disabled" | "fallback" | "moderated" | "skipped" | (string & {});

export type AriaMetadata = {
  responseTime?: number;
  retrievalMs?: number;
  modelMs?: number | null;
  firstTokenMs?: number | null;
  tokensUsed?: number;
  model?: string;
  generation?: AriaGeneration;
  policy?: AriaPolicy;
  oversight?: string;
  /** The stored answer's id: what a rating names. */
  messageId?: number;
  replyTo?: number | null;
};

/** What `POST /api/aria/chat` and `…/chat/stream` accept. */
export type AriaChatRequest = {
  sessionId?: string;
  message: string;
  context?: {
    userLevel?: "premiere" | "terminale";
    currentCourse?: number;
    /** A code question of an attempt in progress: ARIA reads its latest run (docs/ARIA.md). */
    attemptId?: number;
    questionId?: string;
    /** The student's class: its courses are searched first (docs/ARIA.md, "The class filter"). */
    classId?: number;
  };
};

type Frame<K extends AriaServerFrame["type"]> = Extract<AriaServerFrame, { type: K }>;

/** The frames of the SSE stream (and of the websocket: the same JSON), as ARIA's own
 * types say (ws-protocol.ts, generated), with the answer's sources and metadata typed. */
export type AriaFrame =
  | Frame<"typing">
  | Frame<"ai_chunk">
  | (Omit<Frame<"ai_response">, "sources" | "metadata"> & { sources: AriaSource[]; metadata: AriaMetadata })
  | Frame<"error">;

export type AriaSessionSummary = {
  sessionId: string;
  title: string | null;
  createdAt: string;
  lastInteraction: string;
  /** How many messages, both sides. */
  messages: number;
};

export type AriaSessionList = { success: true; sessions: AriaSessionSummary[]; oversight: string };

export type AriaStoredMessage = {
  id: number;
  messageType: "user" | "assistant";
  content: string;
  sources: AriaSource[] | null;
  helpful: boolean | null;
  ratingComment: string | null;
  replyTo: number | null;
  createdAt: string;
};

export type AriaSession = { success: true; sessionId: string; userId: number; messages: AriaStoredMessage[] };

/** The usual error body of every service: a French `error` and a `code`. */
export type AriaErrorBody = { success?: false; error: string; code: string; details?: unknown };
