// A server-sent events parser (the WHATWG rules that ARIA's stream uses): fed pieces of
// text as the network delivers them — a piece may end mid-line, or mid-"\r\n" — it
// calls back once per complete event. EventSource cannot be used: it only does GET,
// and the question is a POST with the access token in a header.

export type SseEvent = { event: string; data: string; id?: string };

export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;
  private sawCr = false;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  /** Parses what `text` completes; keeps an unfinished line for the next call. */
  push(text: string): void {
    let s = text;
    // A "\r" ended the previous piece: a "\n" starting this one belongs to it.
    if (this.sawCr && s.startsWith("\n")) s = s.slice(1);
    this.sawCr = false;
    this.buffer += s;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      this.line(this.buffer.slice(start, i));
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else this.sawCr = true;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** End of the stream: an event without its blank line is dropped (as browsers do). */
  end(): void {
    this.buffer = "";
    this.reset();
  }

  private reset(): void {
    this.event = "";
    this.data = [];
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) {
        this.onEvent({ event: this.event || "message", data: this.data.join("\n"), ...(this.id !== undefined ? { id: this.id } : {}) });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    // "retry" and unknown fields: ignored.
  }
}

/** Reads a response body as SSE events, in order, as they arrive. */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  const parser = new SseParser((e) => queue.push(e));
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const abort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", abort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.push(decoder.decode());
        parser.end();
        yield* queue.splice(0);
        return;
      }
      parser.push(decoder.decode(value, { stream: true }));
      yield* queue.splice(0);
    }
  } finally {
    signal?.removeEventListener("abort", abort);
    reader.releaseLock();
  }
}
