"use client";

// The digest's unsubscribe link: /desabonnement?token=…, no sign-in needed. The page
// asks for a click (a POST) so that a mail scanner opening the link changes nothing.
import Link from "next/link";
import { useState } from "react";
import { useSearchParams } from "next/navigation";
import { errorMessage, publicApi } from "@/lib/api/client";
import { Button, Card, ErrorAlert, SuccessNote } from "@/components/ui";

export function Unsubscribe() {
  const params = useSearchParams();
  const [token] = useState(() => params.get("token") ?? "");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function confirm() {
    setBusy(true);
    setError(null);
    const { data, error: apiError } = await publicApi.POST("/api/digest/unsubscribe", { params: { query: { token } } });
    setBusy(false);
    if (apiError) setError(errorMessage(apiError));
    else setDone(data.message);
  }

  return (
    <Card>
      <div className="flex flex-col gap-3">
        <ErrorAlert message={error} />
        <SuccessNote message={done} />
        {!done && (
          <>
            <p>Vous ne recevrez plus le récapitulatif par e-mail de Nexus Réussite. Les notifications dans l&apos;application restent inchangées.</p>
            <Button type="button" disabled={busy || !token} onClick={() => void confirm()} className="self-start">
              Confirmer le désabonnement
            </Button>
          </>
        )}
        <p className="text-sm">
          <Link href="/parametres/notifications" className="text-accent-700 underline underline-offset-2 dark:text-accent-100">
            Choisir plutôt la fréquence et les sujets
          </Link>{" "}
          (connexion requise).
        </p>
      </div>
    </Card>
  );
}
