import { describe, expect, it } from "vitest";
import { SseParser, readSse, type SseEvent } from "@/lib/aria/sse";
import { askAria } from "@/lib/aria/client";
import type { AriaFrame } from "@/lib/aria/types";

function parse(pieces: string[]): SseEvent[] {
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e));
  for (const piece of pieces) p.push(piece);
  p.end();
  return out;
}

/** A body that delivers `pieces` one by one, each when `release()` is called (or all at once). */
function bodyOf(pieces: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of pieces) controller.enqueue(typeof p === "string" ? enc.encode(p) : p);
      controller.close();
    },
  });
}

// The stream ARIA writes (services/aria/src/chat.rs), as axum frames it.
const ARIA_STREAM = [
  'event: typing\ndata: {"type":"typing","isTyping":true}\n\n',
  'event: ai_chunk\ndata: {"type":"ai_chunk","content":"Une pile"}\n\n',
  ":\n\n", // keep-alive comment
  'event: ai_chunk\ndata: {"type":"ai_chunk","content":" est LIFO."}\n\n',
  'event: ai_response\ndata: {"type":"ai_response","content":"Une pile est LIFO.","confidence":0.8,"sources":[{"courseId":3,"courseTitle":"Structures","sectionId":"ch1-s2","sectionTitle":"Les piles","score":0.8}],"sessionId":"s-1","metadata":{"messageId":42,"policy":"explain","generation":"enabled","oversight":"Tes enseignants peuvent lire tes conversations avec ARIA, et tes parents en voient un résumé."},"timestamp":"2026-12-02T10:00:00.000Z"}\n\n',
  'event: typing\ndata: {"type":"typing","isTyping":false}\n\n',
];

describe("SseParser", () => {
  it("gives each event with its name and data", () => {
    const events = parse(ARIA_STREAM);
    expect(events.map((e) => e.event)).toEqual(["typing", "ai_chunk", "ai_chunk", "ai_response", "typing"]);
    expect(JSON.parse(events[1]!.data)).toEqual({ type: "ai_chunk", content: "Une pile" });
  });

  it("gives the same events however the network cuts the text, one character at a time included", () => {
    const whole = ARIA_STREAM.join("");
    const expected = parse([whole]);
    expect(parse([...whole])).toEqual(expected);
    for (const at of [1, 7, 15, 40, whole.length - 3]) expect(parse([whole.slice(0, at), whole.slice(at)])).toEqual(expected);
  });

  it("accepts \\r\\n and \\r line ends, also a \\r\\n split between two pieces", () => {
    expect(parse(["event: a\r\ndata: 1\r", "\n\r\n"])).toEqual([{ event: "a", data: "1" }]);
    expect(parse(["data: x\r\rdata: y\r\r"])).toEqual([
      { event: "message", data: "x" },
      { event: "message", data: "y" },
    ]);
  });

  it("joins several data lines with newlines, keeps spaces after the first, and ignores comments and unknown fields", () => {
    expect(parse([": ping\nretry: 10\nfoo: bar\ndata:  two spaces\ndata:\ndata: end\n\n"])).toEqual([{ event: "message", data: " two spaces\n\nend" }]);
  });

  it("does not dispatch an event without data, nor one the stream cut before its blank line", () => {
    expect(parse(["event: typing\n\n", "data: lost"])).toEqual([]);
  });

  it("keeps the last id", () => {
    expect(parse(["id: 7\ndata: a\n\n"])).toEqual([{ event: "message", data: "a", id: "7" }]);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 split inside a character", async () => {
    const bytes = new TextEncoder().encode('data: {"content":"récursivité"}\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // in the middle of "é"
    const events: SseEvent[] = [];
    for await (const e of readSse(bodyOf([bytes.slice(0, cut), bytes.slice(cut)]))) events.push(e);
    expect(JSON.parse(events[0]!.data)).toEqual({ content: "récursivité" });
  });

  it("yields an event as soon as its piece arrives, before the stream ends", async () => {
    const enc = new TextEncoder();
    let push!: (s: string) => void;
    let close!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => c.enqueue(enc.encode(s));
        close = () => c.close();
      },
    });
    const it = readSse(body);
    push("data: first\n\n");
    const first = await it.next();
    expect(first.value).toEqual({ event: "message", data: "first" });
    push("data: second\n\n");
    close();
    expect((await it.next()).value).toEqual({ event: "message", data: "second" });
    expect((await it.next()).done).toBe(true);
  });
});

describe("askAria", () => {
  it("posts the question and hands over each frame in order", async () => {
    let sent: Request | null = null;
    const frames: AriaFrame[] = [];
    const outcome = await askAria(
      { message: "Comment fonctionne une pile ?", context: { currentCourse: 3 } },
      (f) => frames.push(f),
      undefined,
      async (req) => {
        sent = req;
        return new Response(bodyOf(ARIA_STREAM), { headers: { "content-type": "text/event-stream" } });
      },
    );
    expect(outcome).toEqual({ ok: true });
    expect(sent!.method).toBe("POST");
    expect(new URL(sent!.url).pathname).toBe("/api/aria/chat/stream");
    expect(await sent!.json()).toEqual({ message: "Comment fonctionne une pile ?", context: { currentCourse: 3 } });
    expect(frames.map((f) => f.type)).toEqual(["typing", "ai_chunk", "ai_chunk", "ai_response", "typing"]);
  });

  it("returns ARIA's French message and Retry-After when the question is refused before the stream", async () => {
    const outcome = await askAria({ message: "?" }, () => {}, undefined, async () =>
      Response.json(
        { success: false, error: "Ton budget ARIA du jour est épuisé.", code: "aria_budget_exhausted" },
        { status: 429, headers: { "retry-after": "3600" } },
      ),
    );
    expect(outcome).toEqual({
      ok: false,
      error: { status: 429, error: "Ton budget ARIA du jour est épuisé.", code: "aria_budget_exhausted", retryAfter: 3600 },
    });
  });

  it("says the network failed, in French, when ARIA cannot be reached", async () => {
    const outcome = await askAria({ message: "?" }, () => {}, undefined, async () => {
      throw new TypeError("fetch failed");
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && "error" in outcome && outcome.error.code).toBe("network_error");
  });

  it("reports an abort (Arrêter) as such, not as an error", async () => {
    const controller = new AbortController();
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('event: ai_chunk\ndata: {"type":"ai_chunk","content":"Une"}\n\n'));
      },
    });
    const frames: AriaFrame[] = [];
    const outcome = await askAria(
      { message: "?" },
      (f) => {
        frames.push(f);
        controller.abort();
      },
      controller.signal,
      async () => new Response(body),
    );
    expect(frames).toHaveLength(1);
    expect(outcome).toEqual({ ok: false, aborted: true });
  });
});
