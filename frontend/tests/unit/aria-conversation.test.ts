import { describe, expect, it } from "vitest";
import { EMPTY, conversationReducer, sourceHref, type Action, type Answer, type Conversation } from "@/lib/aria/conversation";
import type { AriaFrame, AriaMetadata } from "@/lib/aria/types";

const run = (actions: Action[], from: Conversation = EMPTY) => actions.reduce(conversationReducer, from);
const frame = (f: AriaFrame): Action => ({ type: "frame", key: "q1", frame: f });
const answerOf = (c: Conversation) => c.entries.find((e): e is Answer => e.kind === "answer")!;
/** Complete metadata, as ARIA's Rust type has it (ws-protocol.ts). */
const meta = (over: Partial<AriaMetadata>): AriaMetadata => ({
  firstTokenMs: 12,
  generation: "enabled",
  model: "smollm2",
  modelMs: 80,
  oversight: "Tes enseignants peuvent lire tes conversations avec ARIA.",
  policy: "explain",
  responseTime: 120,
  retrievalMs: 3,
  tokensUsed: 40,
  ...over,
});
const response = (over: Partial<Extract<AriaFrame, { type: "ai_response" }>> = {}): AriaFrame => ({
  type: "ai_response",
  content: "Une pile est une structure LIFO.",
  confidence: 0.8,
  sources: [{ courseId: 3, courseTitle: "Structures", level: "terminale", score: 0.8, sectionId: "ch1-s2", sectionTitle: "Les piles" }],
  sessionId: "s-1",
  metadata: meta({ messageId: 42 }),
  timestamp: "2026-12-02T10:00:00Z",
  ...over,
});

describe("conversationReducer", () => {
  it("shows the question and a waiting answer, then the answer growing piece by piece", () => {
    let c = run([{ type: "ask", key: "q1", text: "Une pile ?" }]);
    expect(c.entries.map((e) => e.kind)).toEqual(["question", "answer"]);
    expect(answerOf(c).state).toBe("waiting");
    c = run([frame({ type: "typing", isTyping: true }), frame({ type: "ai_chunk", content: "Une pile" })], c);
    expect(answerOf(c)).toMatchObject({ state: "streaming", text: "Une pile" });
    c = run([frame({ type: "ai_chunk", content: " est LIFO" })], c);
    expect(answerOf(c).text).toBe("Une pile est LIFO");
  });

  it("replaces the streamed text with the stored answer and keeps its sources, id, session and oversight notice", () => {
    const c = run([{ type: "ask", key: "q1", text: "?" }, frame({ type: "ai_chunk", content: "brouillon" }), frame(response())]);
    expect(answerOf(c)).toMatchObject({ state: "done", text: "Une pile est une structure LIFO.", messageId: 42, policy: "explain" });
    expect(answerOf(c).sources[0]?.sectionId).toBe("ch1-s2");
    expect(c.sessionId).toBe("s-1");
    expect(c.oversight).toBe("Tes enseignants peuvent lire tes conversations avec ARIA.");
  });

  it("keeps ARIA's message when the model fails and the answer from the courses follows", () => {
    const c = run([
      { type: "ask", key: "q1", text: "?" },
      frame({ type: "ai_chunk", content: "Une pi" }),
      frame({ type: "error", code: "model_unavailable", message: "Le modèle de langage ne répond pas : voici ce que disent les cours." }),
      frame(response({ content: "Extrait du cours.", metadata: meta({ messageId: 43, generation: "fallback", model: "extractive", modelMs: null }) })),
    ]);
    expect(answerOf(c)).toMatchObject({ state: "done", text: "Extrait du cours.", generation: "fallback", notice: "Le modèle de langage ne répond pas : voici ce que disent les cours." });
  });

  it("marks the exam-mode refusal with its policy (the panel explains it)", () => {
    const c = run([{ type: "ask", key: "q1", text: "La réponse de l'examen ?" }, frame(response({ content: "Tu as une évaluation en cours…", sources: [], metadata: meta({ messageId: 44, policy: "exam_refused", generation: "skipped" }) }))]);
    expect(answerOf(c)).toMatchObject({ state: "done", policy: "exam_refused", sources: [] });
  });

  it("ends an answer with an error frame after the stream started, and a stream that ends without an answer", () => {
    const failed = run([{ type: "ask", key: "q1", text: "?" }, frame({ type: "error", code: "internal_error", message: "Erreur interne." })]);
    expect(answerOf(failed)).toMatchObject({ state: "failed", error: "Erreur interne.", errorCode: "internal_error" });
    const cut = run([{ type: "ask", key: "q1", text: "?" }, frame({ type: "ai_chunk", content: "Une" }), { type: "ended", key: "q1", message: "Interrompue." }]);
    expect(answerOf(cut)).toMatchObject({ state: "failed", error: "Interrompue.", text: "Une" });
    const done = run([{ type: "ask", key: "q1", text: "?" }, frame(response()), { type: "ended", key: "q1", message: "Interrompue." }]);
    expect(answerOf(done).state).toBe("done");
  });

  it("shows a refusal before the stream (429) as a failed answer with ARIA's message", () => {
    const c = run([{ type: "ask", key: "q1", text: "?" }, { type: "failed", key: "q1", message: "Trop de questions.", code: "rate_limited" }]);
    expect(answerOf(c)).toMatchObject({ state: "failed", error: "Trop de questions.", errorCode: "rate_limited" });
  });

  it("stops an answer being written and ignores the pieces still in flight", () => {
    const c = run([{ type: "ask", key: "q1", text: "?" }, frame({ type: "ai_chunk", content: "Une" }), { type: "stopped", key: "q1" }, frame({ type: "ai_chunk", content: " pile" })]);
    expect(answerOf(c)).toMatchObject({ state: "stopped", text: "Une" });
  });

  it("records a rating on the answer it names, and takes it back", () => {
    let c = run([{ type: "ask", key: "q1", text: "?" }, frame(response())]);
    c = run([{ type: "rated", messageId: 42, helpful: true }], c);
    expect(answerOf(c).helpful).toBe(true);
    c = run([{ type: "rated", messageId: 42, helpful: null }], c);
    expect(answerOf(c).helpful).toBeNull();
  });

  it("loads a stored session: questions and answers in order, with sources and ratings; reset keeps the notice", () => {
    let c = run([
      { type: "oversight", text: "Notice" },
      {
        type: "load",
        sessionId: "s-9",
        messages: [
          { id: 1, messageType: "user", content: "Une pile ?", sources: [], helpful: null, ratingComment: null, replyTo: null, createdAt: "" },
          { id: 2, messageType: "assistant", content: "LIFO.", sources: null, helpful: false, ratingComment: "bof", replyTo: 1, createdAt: "" },
        ],
      },
    ]);
    expect(c.sessionId).toBe("s-9");
    expect(c.entries.map((e) => e.kind)).toEqual(["question", "answer"]);
    expect(answerOf(c)).toMatchObject({ text: "LIFO.", messageId: 2, helpful: false, state: "done", sources: [] });
    c = run([{ type: "reset" }], c);
    expect(c).toEqual({ sessionId: null, entries: [], oversight: "Notice" });
  });
});

describe("sourceHref", () => {
  it("links to the cited section of the course", () => {
    expect(sourceHref({ courseId: 12, sectionId: "ch2-s1" })).toBe("/eleve/cours/12?section=ch2-s1");
    expect(sourceHref({ courseId: 12, sectionId: "a b&c" })).toBe("/eleve/cours/12?section=a%20b%26c");
  });
});
