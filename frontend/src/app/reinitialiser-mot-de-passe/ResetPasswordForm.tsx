"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { useSearchParams } from "next/navigation";
import { errorMessage, fieldErrors, publicApi } from "@/lib/api/client";
import { Button, Card, ErrorAlert, Field, SuccessNote } from "@/components/ui";

// The link of the reset mail: /reinitialiser-mot-de-passe?token=…. The token is read
// once, then removed from the address bar (history, screenshots, shoulder surfing);
// the page's referrer policy is no-referrer.
export function ResetPasswordForm() {
  const params = useSearchParams();
  const [token] = useState(() => params.get("token") ?? "");
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (params.has("token")) window.history.replaceState(null, "", window.location.pathname);
  }, [params]);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const newPassword = String(form.get("newPassword") ?? "");
    const confirm = String(form.get("confirm") ?? "");
    setError(null);
    setFields({});
    if (newPassword !== confirm) {
      setFields({ confirm: "Les deux mots de passe ne sont pas identiques." });
      return;
    }
    setBusy(true);
    const { data, error: apiError } = await publicApi.POST("/api/auth/password-reset/confirm", {
      body: { token, newPassword },
    });
    setBusy(false);
    if (apiError) {
      setError(errorMessage(apiError));
      setFields(fieldErrors(apiError));
      return;
    }
    setDone(data?.message ?? "Mot de passe modifié. Vous pouvez vous connecter.");
  }

  if (!token) {
    return (
      <Card>
        <div className="flex flex-col gap-4">
          <ErrorAlert message="Ce lien est incomplet. Ouvrez le lien reçu par e-mail, ou demandez-en un nouveau." />
          <Link href="/mot-de-passe-oublie" className="font-medium text-accent-700 underline dark:text-accent-100">
            Demander un nouveau lien
          </Link>
        </div>
      </Card>
    );
  }

  return (
    <Card>
      {done ? (
        <div className="flex flex-col gap-4">
          <SuccessNote message={`${done} Vos autres sessions ont été fermées.`} />
          <Link href="/connexion" className="font-medium text-accent-700 underline dark:text-accent-100">
            Se connecter
          </Link>
        </div>
      ) : (
        <form onSubmit={onSubmit} className="flex flex-col gap-4" noValidate>
          <ErrorAlert message={error} />
          <Field
            id="newPassword"
            name="newPassword"
            type="password"
            label="Nouveau mot de passe"
            autoComplete="new-password"
            required
            hint="Au moins 8 caractères, sans votre nom ni votre adresse e-mail."
            error={fields.newPassword}
          />
          <Field
            id="confirm"
            name="confirm"
            type="password"
            label="Confirmer le mot de passe"
            autoComplete="new-password"
            required
            error={fields.confirm}
          />
          <Button type="submit" disabled={busy}>
            {busy ? "Enregistrement…" : "Enregistrer le mot de passe"}
          </Button>
          {error && (
            <Link href="/mot-de-passe-oublie" className="font-medium text-accent-700 underline dark:text-accent-100">
              Demander un nouveau lien
            </Link>
          )}
        </form>
      )}
    </Card>
  );
}
