"use client";

import { useState } from "react";
import { errorMessage, fieldErrors } from "@/lib/api/client";

export const PASSWORD_MISSING = "Saisissez votre mot de passe pour confirmer.";

/**
 * An act confirmed by the caller's own password typed again, then a confirmation dialog
 * (the deletions: docs/PRIVACY.md). The form's submit checks the field is filled and
 * opens the dialog; the dialog's `confirm` sends, puts the API's `password` error on the
 * field (and returns the message for the dialog), or clears the field and calls `onDone`.
 */
export function usePasswordConfirmation<T>(
  send: (password: string) => Promise<{ data?: T; error?: unknown }>,
  onDone: (data: T) => void | Promise<void>,
) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);

  function onSubmit(e: React.FormEvent) {
    e.preventDefault();
    if (!password) {
      setError(PASSWORD_MISSING);
      return;
    }
    setError(undefined);
    setConfirming(true);
  }

  async function confirm(): Promise<string | null> {
    const { data, error: apiError } = await send(password);
    if (apiError || data === undefined) {
      const field = fieldErrors(apiError).password;
      setError(field);
      return field ?? errorMessage(apiError);
    }
    setPassword("");
    await onDone(data);
    return null;
  }

  return { password, setPassword, error, confirming, setConfirming, onSubmit, confirm };
}
