// The access token lives here, in memory only (never in storage). It is refreshed
// silently: before it expires, and when the API answers 401 `token_expired`.
// Refreshes are single-flight in the tab and serialised across tabs (Web Locks), because
// the API rotates refresh tokens and treats a second use of one as theft.

export type Tokens = { accessToken: string; expiresIn: number };
export type RefreshResult<U> = (Tokens & { user: U | null }) | { error: ApiErrorBody; status: number };

export type ApiErrorBody = { success?: false; error: string; code: string; details?: unknown };

export type TokenManagerOptions<U> = {
  /** Calls /session/refresh. Never throws: network failures come back as an error body. */
  refresh: () => Promise<RefreshResult<U>>;
  now?: () => number;
  /** Refresh this long before the expiry (ms). */
  skewMs?: number;
  /** Serialise refreshes across tabs; defaults to navigator.locks when present. */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
};

export type SessionState<U> = { token: string | null; user: U | null };

function defaultLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (locks?.request) return locks.request("nexus-session-refresh", fn) as Promise<T>;
  return fn();
}

export class TokenManager<U> {
  private token: string | null = null;
  private expiresAt = 0;
  private user: U | null = null;
  private inflight: Promise<string | null> | null = null;
  private signedOut = false;
  private listeners = new Set<(s: SessionState<U>) => void>();
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The last refusal (401 session ended), for the UI. */
  lastError: ApiErrorBody | null = null;

  constructor(private readonly opts: TokenManagerOptions<U>) {
    this.now = opts.now ?? (() => Date.now());
    this.skewMs = opts.skewMs ?? 30_000;
    this.lock = opts.lock ?? defaultLock;
  }

  state(): SessionState<U> {
    return { token: this.token, user: this.user };
  }

  subscribe(fn: (s: SessionState<U>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    const s = this.state();
    for (const fn of this.listeners) fn(s);
  }

  set(tokens: Tokens, user?: U | null): void {
    this.token = tokens.accessToken;
    this.expiresAt = this.now() + tokens.expiresIn * 1000;
    if (user !== undefined) this.user = user;
    this.emit();
  }

  clear(): void {
    this.token = null;
    this.expiresAt = 0;
    this.user = null;
    this.emit();
  }

  expiresSoon(): boolean {
    return this.token !== null && this.now() >= this.expiresAt - this.skewMs;
  }

  /** A valid access token (refreshed first if it is about to expire), or null. */
  async getToken(): Promise<string | null> {
    if (this.token && !this.expiresSoon()) return this.token;
    if (this.signedOut) return null;
    return this.refreshNow();
  }

  /** Marks the session as ended (sign-out): getToken then no longer tries to refresh. */
  markSignedOut(): void {
    this.signedOut = true;
    this.clear();
  }

  markSignedIn(tokens: Tokens, user: U): void {
    this.signedOut = false;
    this.lastError = null;
    this.set(tokens, user);
  }

  /** Refresh now; concurrent callers share one request. Resolves to the new token or null. */
  refreshNow(): Promise<string | null> {
    if (this.inflight) return this.inflight;
    const stale = this.token;
    this.inflight = this.lock(async () => {
      // Another caller (or tab, through the cookie) may have refreshed meanwhile.
      if (this.token && this.token !== stale && !this.expiresSoon()) return this.token;
      const result = await this.opts.refresh();
      if ("error" in result) {
        if (result.status === 401 || result.status === 403) {
          this.lastError = result.error;
          this.signedOut = true;
          this.clear();
        }
        return null;
      }
      this.signedOut = false;
      this.set(result, result.user ?? this.user);
      return result.accessToken;
    }).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * fetch with the access token; on 401 `token_expired` (or `invalid_token` after a
   * restart with a new key) refresh once and retry the same request.
   */
  async fetch(request: Request, fetchImpl: typeof fetch = fetch): Promise<Response> {
    const retry = request.clone();
    const token = await this.getToken();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    const res = await fetchImpl(request);
    if (res.status !== 401 || !token) return res;
    const code = await res
      .clone()
      .json()
      .then((b: { code?: string }) => b.code)
      .catch(() => undefined);
    if (code !== "token_expired" && code !== "invalid_token") return res;
    const fresh = this.token !== token && this.token ? this.token : await this.refreshNow();
    if (!fresh) return res;
    retry.headers.set("authorization", `Bearer ${fresh}`);
    return fetchImpl(retry);
  }
}
