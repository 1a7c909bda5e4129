"use client";

import { useEffect, useState } from "react";
import { errorMessage } from "@/lib/api/client";
import { withRetry, type Attempt } from "@/lib/retry";

/**
 * Loads data with the typed client while `enabled`; again whenever `key` changes (a
 * live notification) or `reload()` is called. Keeps the last data on a failed reload.
 * A network failure or a 502/503/504 is retried (0.5 s, 1.5 s, 4 s: src/lib/retry.ts)
 * before the error is shown. `settled`: it has answered at least once (data or error), for
 * pages that appear whole once all their loaders have.
 */
export function useLoader<T>(enabled: boolean, fetcher: () => Promise<Attempt<T>>, key?: unknown) {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    withRetry(fetcher, { alive: () => alive }).then(
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
  return { ...state, settled: state.data !== null || state.error !== null, reload: () => setVersion((v) => v + 1) };
}
