// The typed API client (openapi-fetch over the generated schema). Same origin: Next
// rewrites /api/* to the API. Every call carries the in-memory access token and is
// retried once after a silent refresh when the API says the token expired.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { TokenManager, type ApiErrorBody, type RefreshResult } from "@/lib/auth/tokens";

export type Schemas = components["schemas"];
export type SessionUser = Schemas["SessionUser"];

export const GENERIC_ERROR = "Une erreur inattendue est survenue. Réessayez dans un instant.";
export const NETWORK_ERROR = "Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.";

async function postSession<T>(path: string, body?: unknown): Promise<{ status: number; json: T | ApiErrorBody }> {
  try {
    const res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
    const json = (await res.json().catch(() => ({ error: GENERIC_ERROR, code: "internal_error" }))) as T | ApiErrorBody;
    return { status: res.status, json };
  } catch {
    return { status: 0, json: { error: NETWORK_ERROR, code: "network_error" } };
  }
}

type SessionOk = { success: true; user: SessionUser | null; accessToken: string; expiresIn: number };

export async function refreshSession(): Promise<RefreshResult<SessionUser>> {
  const { status, json } = await postSession<SessionOk>("/session/refresh");
  if (status === 200 && "accessToken" in json) {
    return { accessToken: json.accessToken, expiresIn: json.expiresIn, user: json.user };
  }
  return { status, error: json as ApiErrorBody };
}

export const tokens = new TokenManager<SessionUser>({ refresh: refreshSession });

/** Calls that need the signed-in user. */
export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin,
  fetch: (request: Request) => tokens.fetch(request),
});

/** Calls open to anyone (registration): no token, no refresh. */
export const publicApi = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin,
});

export async function signIn(email: string, password: string): Promise<SessionUser | ApiErrorBody> {
  const { status, json } = await postSession<SessionOk>("/session/login", { email, password });
  if (status === 200 && "accessToken" in json && json.user) {
    tokens.markSignedIn({ accessToken: json.accessToken, expiresIn: json.expiresIn }, json.user);
    return json.user;
  }
  return json as ApiErrorBody;
}

export async function signOut(): Promise<void> {
  await postSession("/session/logout");
  tokens.markSignedOut();
}

/** The French message to show for a failed call: the API's `error` when it sent one. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === "object" && "error" in error) {
    const msg = (error as { error: unknown }).error;
    if (typeof msg === "string" && msg.length > 0) return msg;
  }
  if (error instanceof TypeError) return NETWORK_ERROR;
  return GENERIC_ERROR;
}

/** Per-field messages of an `invalid_fields` error. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (error && typeof error === "object" && "details" in error) {
    const details = (error as { details: unknown }).details;
    if (details && typeof details === "object") {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(details)) if (typeof v === "string") out[k] = v;
      return out;
    }
  }
  return {};
}

export function homeOf(role: string | undefined): string {
  switch (role) {
    case "student":
      return "/eleve";
    case "parent":
      return "/parent";
    case "teacher":
      return "/enseignant";
    case "admin":
      return "/admin";
    default:
      return "/connexion";
  }
}
