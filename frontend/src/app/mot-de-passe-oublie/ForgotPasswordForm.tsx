"use client";

import Link from "next/link";
import { useState } from "react";
import { errorMessage, publicApi } from "@/lib/api/client";
import { Button, Card, ErrorAlert, Field, SuccessNote } from "@/components/ui";

// The API answers 202 whether or not the address has an account (nothing to learn
// from it): the page says the same thing in both cases.
export function ForgotPasswordForm() {
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const email = String(new FormData(e.currentTarget).get("email") ?? "").trim();
    setBusy(true);
    setError(null);
    const { error: apiError } = await publicApi.POST("/api/auth/password-reset/request", { body: { email } });
    setBusy(false);
    if (apiError) {
      setError(errorMessage(apiError));
      return;
    }
    setSent(
      `Si un compte existe pour ${email}, un e-mail vient de lui être envoyé avec un lien valable une heure. ` +
        "Pensez à regarder dans les courriers indésirables.",
    );
  }

  return (
    <Card>
      {sent ? (
        <div className="flex flex-col gap-4">
          <SuccessNote message={sent} />
          <Link href="/connexion" className="font-medium text-accent-700 underline dark:text-accent-100">
            Retour à la connexion
          </Link>
        </div>
      ) : (
        <form onSubmit={onSubmit} className="flex flex-col gap-4" noValidate>
          <p className="text-slate-700 dark:text-slate-300">
            Indiquez l’adresse e-mail de votre compte : vous recevrez un lien pour choisir un nouveau mot de passe.
          </p>
          <ErrorAlert message={error} />
          <Field id="email" name="email" type="email" label="Adresse e-mail" autoComplete="email" required />
          <Button type="submit" disabled={busy}>
            {busy ? "Envoi…" : "Recevoir le lien"}
          </Button>
          <Link href="/connexion" className="font-medium text-accent-700 underline dark:text-accent-100">
            Retour à la connexion
          </Link>
        </form>
      )}
    </Card>
  );
}
