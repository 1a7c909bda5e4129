"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { errorMessage, homeOf, publicApi, signIn } from "@/lib/api/client";
import { useSession } from "@/components/session";
import { Button, Card, ErrorAlert, Field, SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | null): string | null {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

export function SignInForm() {
  const router = useRouter();
  const params = useSearchParams();
  const { status, user } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The account's own deletion is pending (403 deletion_pending, `details.canCancel`):
  // the holder may cancel it with the credentials just typed (docs/PRIVACY.md).
  const [pending, setPending] = useState<{ email: string; password: string } | null>(null);
  const [cancelled, setCancelled] = useState<string | null>(null);

  useEffect(() => {
    if (status === "signed-in" && !busy) router.replace(safeNext(params.get("suite")) ?? homeOf(user?.role));
  }, [status, user, busy, params, router]);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    setPending(null);
    setCancelled(null);
    const result = await signIn(email, password);
    if ("role" in result) {
      router.replace(safeNext(params.get("suite")) ?? homeOf(result.role));
    } else {
      setError(errorMessage(result));
      const details = result.details as { canCancel?: unknown } | undefined;
      if (result.code === "deletion_pending" && details?.canCancel === true) setPending({ email, password });
      setBusy(false);
    }
  }

  async function cancelDeletion() {
    if (!pending) return;
    setBusy(true);
    const { data, error: apiError } = await publicApi.POST("/api/auth/deletion/cancel", { body: pending });
    setBusy(false);
    if (data) {
      setPending(null);
      setError(null);
      setCancelled(`${data.message} Vous pouvez vous connecter.`);
    } else setError(errorMessage(apiError));
  }

  return (
    <Card>
      <form onSubmit={onSubmit} className="flex flex-col gap-4" noValidate>
        <ErrorAlert message={error} />
        <SuccessNote message={cancelled} />
        {pending && (
          <button type="button" className={`${SECONDARY_BUTTON} self-start`} disabled={busy} onClick={() => void cancelDeletion()}>
            Annuler la suppression
          </button>
        )}
        <Field id="email" name="email" type="email" label="Adresse e-mail" autoComplete="email" required />
        <Field id="password" name="password" type="password" label="Mot de passe" autoComplete="current-password" required />
        <Link href="/mot-de-passe-oublie" className="-mt-2 self-start text-sm font-medium text-accent-700 underline dark:text-accent-100">
          Mot de passe oublié ?
        </Link>
        <Button type="submit" disabled={busy}>
          {busy ? "Connexion…" : "Se connecter"}
        </Button>
        <p className="text-slate-700 dark:text-slate-300">
          Pas encore de compte ?{" "}
          <Link href="/inscription" className="font-medium text-accent-700 underline dark:text-accent-100">
            Créer un compte
          </Link>
        </p>
      </form>
    </Card>
  );
}
