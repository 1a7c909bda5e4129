"use client";

import { createContext, useContext, useEffect, useState, useSyncExternalStore } from "react";
import { useRouter } from "next/navigation";
import { homeOf, tokens, type SessionUser } from "@/lib/api/client";

type SessionStatus = "loading" | "signed-in" | "signed-out";
type Session = { status: SessionStatus; user: SessionUser | null };

const SessionContext = createContext<Session>({ status: "loading", user: null });

const subscribe = (fn: () => void) => tokens.subscribe(fn);
let snapshot = tokens.state();
tokens.subscribe((s) => {
  snapshot = s;
});
const getSnapshot = () => snapshot;
const getServerSnapshot = () => ({ token: null, user: null });

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const state = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const [restored, setRestored] = useState(false);

  useEffect(() => {
    // Restore the session from the httpOnly refresh cookie (once per page load).
    let alive = true;
    void tokens.getToken().finally(() => {
      if (alive) setRestored(true);
    });
    return () => {
      alive = false;
    };
  }, []);

  const status: SessionStatus = state.user ? "signed-in" : restored ? "signed-out" : "loading";
  return <SessionContext.Provider value={{ status, user: state.user }}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  return useContext(SessionContext);
}

/** The page's content for one role; others are sent to their own home, strangers to sign-in. */
export function useRequireRole(roles: string[]): Session & { allowed: boolean } {
  const session = useSession();
  const router = useRouter();
  const allowed = session.status === "signed-in" && !!session.user && roles.includes(session.user.role);
  useEffect(() => {
    if (session.status === "signed-out") {
      router.replace(`/connexion?suite=${encodeURIComponent(window.location.pathname)}`);
    } else if (session.status === "signed-in" && session.user && !roles.includes(session.user.role)) {
      router.replace(homeOf(session.user.role));
    }
  }, [session.status, session.user, roles, router]);
  return { ...session, allowed };
}
