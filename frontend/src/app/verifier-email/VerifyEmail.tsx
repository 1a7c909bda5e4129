"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useSearchParams } from "next/navigation";
import { errorMessage, publicApi } from "@/lib/api/client";
import { useSession } from "@/components/session";
import { Card, ErrorAlert, Loading, SuccessNote } from "@/components/ui";

// The link of the verification mail: /verifier-email?token=…. Like the reset link, the
// token is read once and removed from the address bar; no session is needed (the mail
// may be opened on another device).
export function VerifyEmail() {
  const params = useSearchParams();
  const { user } = useSession();
  const [token] = useState(() => params.get("token") ?? "");
  const [state, setState] = useState<{ done?: string; error?: string }>({});
  const sent = useRef(false);

  useEffect(() => {
    if (params.has("token")) window.history.replaceState(null, "", window.location.pathname);
  }, [params]);

  useEffect(() => {
    // Once (React's development double effects must not spend the single-use token twice).
    if (!token || sent.current) return;
    sent.current = true;
    void publicApi.POST("/api/auth/verify-email", { body: { token } }).then(({ data, error }) => {
      if (data) setState({ done: data.message });
      else setState({ error: errorMessage(error) });
    });
  }, [token]);

  const next = user ? (
    <Link href="/" className="font-medium text-accent-700 underline dark:text-accent-100">
      Revenir à mon tableau de bord
    </Link>
  ) : (
    <Link href="/connexion" className="font-medium text-accent-700 underline dark:text-accent-100">
      Se connecter
    </Link>
  );

  if (!token) {
    return (
      <Card>
        <div className="flex flex-col gap-4">
          <ErrorAlert message="Ce lien est incomplet. Ouvrez le lien reçu par e-mail, ou demandez-en un nouveau depuis votre tableau de bord." />
          {next}
        </div>
      </Card>
    );
  }
  return (
    <Card>
      <div className="flex flex-col gap-4">
        {!state.done && !state.error && <Loading label="Confirmation en cours…" />}
        <SuccessNote message={state.done ?? null} />
        {state.error && (
          <>
            <ErrorAlert message={state.error} />
            <p>Un lien ne sert qu&apos;une fois et expire après deux jours. Depuis votre tableau de bord, vous pouvez en demander un nouveau.</p>
          </>
        )}
        {(state.done || state.error) && next}
      </div>
    </Card>
  );
}
