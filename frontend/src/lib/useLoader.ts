"use client";

import { useEffect, useState } from "react";
import { errorMessage } from "@/lib/api/client";

type Result<T> = { data?: T; error?: unknown };

/**
 * Loads data with the typed client while `enabled`; again whenever `key` changes (a
 * live notification) or `reload()` is called. Keeps the last data on a failed reload.
 */
export function useLoader<T>(enabled: boolean, fetcher: () => Promise<Result<T>>, key?: unknown) {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    fetcher().then(
      ({ data, error }) => {
        if (!alive) return;
        if (data !== undefined) setState({ data, error: null });
        else setState((s) => ({ data: s.data, error: errorMessage(error) }));
      },
      (e: unknown) => {
        if (alive) setState((s) => ({ data: s.data, error: errorMessage(e) }));
      },
    );
    return () => {
      alive = false;
    };
    // The fetcher is a new closure on every render; what it depends on is in `key`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, key, version]);
  return { ...state, reload: () => setVersion((v) => v + 1) };
}
