import { describe, expect, it, vi } from "vitest";
import { TokenManager, type RefreshResult } from "@/lib/auth/tokens";

type User = { id: number };

function setup(results: RefreshResult<User>[]) {
  let now = 1_000_000;
  const refresh = vi.fn(async () => {
    await Promise.resolve();
    const next = results.shift();
    if (!next) throw new Error("unexpected refresh");
    return next;
  });
  const tm = new TokenManager<User>({ refresh, now: () => now, skewMs: 30_000, lock: (fn) => fn() });
  return { tm, refresh, advance: (ms: number) => (now += ms) };
}

const ok = (token: string, expiresIn = 3600): RefreshResult<User> => ({ accessToken: token, expiresIn, user: { id: 1 } });
const expired = { status: 401, error: { error: "Session expirée ou invalide. Reconnectez-vous.", code: "invalid_refresh_token" } };

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("TokenManager", () => {
  it("restores the session from the refresh cookie on first use", async () => {
    const { tm, refresh } = setup([ok("a1")]);
    expect(await tm.getToken()).toBe("a1");
    expect(tm.state().user).toEqual({ id: 1 });
    expect(await tm.getToken()).toBe("a1");
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("shares one refresh between concurrent callers (a refresh token is single-use)", async () => {
    const { tm, refresh } = setup([ok("a1")]);
    const tokens = await Promise.all([tm.getToken(), tm.getToken(), tm.refreshNow(), tm.getToken()]);
    expect(tokens).toEqual(["a1", "a1", "a1", "a1"]);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("refreshes silently shortly before the expiry, not before", async () => {
    const { tm, refresh, advance } = setup([ok("a2")]);
    tm.markSignedIn({ accessToken: "a1", expiresIn: 3600 }, { id: 1 });
    advance(3600_000 - 31_000);
    expect(await tm.getToken()).toBe("a1");
    expect(refresh).not.toHaveBeenCalled();
    advance(2_000);
    expect(await tm.getToken()).toBe("a2");
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("on 401 token_expired: refreshes once and retries the request with the new token", async () => {
    const { tm, refresh } = setup([ok("a2")]);
    tm.markSignedIn({ accessToken: "a1", expiresIn: 3600 }, { id: 1 });
    const seen: string[] = [];
    const fetchImpl = vi.fn(async (req: Request) => {
      seen.push(`${req.headers.get("authorization")} ${await req.text()}`);
      return seen.length === 1
        ? jsonResponse(401, { success: false, error: "Session expirée.", code: "token_expired" })
        : jsonResponse(200, { ok: true });
    });
    const res = await tm.fetch(new Request("http://x/api/classes/join", { method: "POST", body: '{"code":"AB"}' }), fetchImpl as typeof fetch);
    expect(res.status).toBe(200);
    expect(seen).toEqual(['Bearer a1 {"code":"AB"}', 'Bearer a2 {"code":"AB"}']);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("does not refresh on other 401s (wrong password…) nor on 403", async () => {
    const { tm, refresh } = setup([]);
    tm.markSignedIn({ accessToken: "a1", expiresIn: 3600 }, { id: 1 });
    const body = { success: false, error: "Session révoquée.", code: "session_revoked" };
    const res = await tm.fetch(new Request("http://x/api/auth/me"), (async () => jsonResponse(401, body)) as typeof fetch);
    expect(res.status).toBe(401);
    expect(refresh).not.toHaveBeenCalled();
  });

  it("a refused refresh signs out: no token, no more refresh attempts", async () => {
    const { tm, refresh } = setup([expired]);
    const seen: (string | null)[] = [];
    tm.subscribe((s) => seen.push(s.token));
    tm.markSignedIn({ accessToken: "a1", expiresIn: 10 }, { id: 1 });
    expect(await tm.getToken()).toBeNull();
    expect(tm.state()).toEqual({ token: null, user: null });
    expect(tm.lastError?.code).toBe("invalid_refresh_token");
    expect(await tm.getToken()).toBeNull();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(["a1", null]);
  });

  it("a network failure during refresh keeps the session (retried later)", async () => {
    const { tm, refresh } = setup([{ status: 0, error: { error: "Impossible de joindre le serveur.", code: "network_error" } }, ok("a2")]);
    tm.markSignedIn({ accessToken: "a1", expiresIn: 10 }, { id: 1 });
    expect(await tm.getToken()).toBeNull();
    expect(tm.state().user).toEqual({ id: 1 });
    expect(await tm.getToken()).toBe("a2");
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("after sign-out nothing is refreshed", async () => {
    const { tm, refresh } = setup([]);
    tm.markSignedIn({ accessToken: "a1", expiresIn: 3600 }, { id: 1 });
    tm.markSignedOut();
    expect(await tm.getToken()).toBeNull();
    expect(refresh).not.toHaveBeenCalled();
  });

  it("serialises refreshes through the lock (other tabs)", async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const lock = async <T,>(fn: () => Promise<T>) => {
      order.push("wait");
      await held;
      order.push("locked");
      return fn();
    };
    const tm = new TokenManager<User>({ refresh: async () => (order.push("refresh"), ok("a1")), lock });
    const p = tm.getToken();
    await Promise.resolve();
    expect(order).toEqual(["wait"]);
    release();
    expect(await p).toBe("a1");
    expect(order).toEqual(["wait", "locked", "refresh"]);
  });
});
