// ARIA's payloads, typed by hand: its routes are not in the API's OpenAPI document
// (openapi.json is the main API's). From docs/API.md, section "ARIA", and the Rust
// structs of services/aria/src (tutor.rs, chat.rs, sessions.rs). The stream's frames
// come from shared/protocol (ws-protocol.ts).

import type { AriaServerFrame, AriaSource } from "@/lib/ws-protocol";

/** An answer's parts, generated from ARIA's Rust types (shared/protocol: ws-protocol.ts):
 * a course section it relies on (`sources`, best first, at most 3), how it was made
 * (`generation`), its metadata. */
export type { AriaGeneration, AriaMetadata, AriaSource } from "@/lib/ws-protocol";

/** `explain`, `hints` (an assessment in progress), `exam_refused`, `support`. */
export type AriaPolicy = "explain" | "hints" | "exam_refused" | "support" | (string & {});

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
 * types say (ws-protocol.ts, generated). */
export type AriaFrame = Frame<"typing"> | Frame<"ai_chunk"> | Frame<"ai_response"> | Frame<"error">;

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
