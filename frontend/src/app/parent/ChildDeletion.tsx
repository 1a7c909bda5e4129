"use client";

// A parent asks for the deletion of their linked child's account, or cancels the one
// they asked for, during the grace period (docs/PRIVACY.md, "Deletion and erasure"):
// GET/POST/DELETE /api/students/{id}/deletion, the parent's own password typed again.
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { usePasswordConfirmation } from "@/lib/usePasswordConfirmation";
import { useLoader } from "@/lib/useLoader";
import { formatDate } from "@/lib/format";
import { ConfirmDialog } from "@/components/confirm";
import { ErrorAlert, Field, SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

export function ChildDeletion({ studentId, firstName }: { studentId: number; firstName: string }) {
  const { data, error: loadError, reload } = useLoader(true, () =>
    api.GET("/api/students/{id}/deletion", { params: { path: { id: studentId } } }),
  );
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const base = `suppression-${studentId}`;

  const deletion = usePasswordConfirmation(
    (password) => api.POST("/api/students/{id}/deletion", { params: { path: { id: studentId } }, body: { password } }),
    (status) => {
      setOpen(false);
      setDone(status.message);
      reload();
    },
  );

  async function cancel() {
    setError(null);
    const { data: status, error: apiError } = await api.DELETE("/api/students/{id}/deletion", { params: { path: { id: studentId } } });
    if (apiError) {
      setError(errorMessage(apiError));
      return;
    }
    setDone(status.message);
    reload();
  }

  return (
    <details className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900" data-testid="child-deletion">
      <summary className="cursor-pointer font-semibold">Suppression du compte de {firstName}</summary>
      <div className="mt-3 space-y-3">
        <ErrorAlert message={loadError ?? error} />
        <SuccessNote message={done} />
        {data?.pending ? (
          <>
            <p className="font-medium" data-testid="child-deletion-state">
              Suppression demandée : le compte de {firstName} est désactivé et sera effacé le{" "}
              {data.eraseAfter ? formatDate(data.eraseAfter) : "—"}.
            </p>
            {data.canCancel && (
              <button type="button" className={SECONDARY_BUTTON} onClick={() => void cancel()}>
                Annuler la suppression
              </button>
            )}
          </>
        ) : (
          <>
            <p className="text-slate-700 dark:text-slate-300">
              Le compte est désactivé tout de suite, puis effacé après un délai pendant lequel vous pouvez annuler. Ses notes restent, sans
              son nom, dans les statistiques de ses classes.
            </p>
            {!open ? (
              <button type="button" className={SECONDARY_BUTTON} onClick={() => setOpen(true)}>
                Demander la suppression du compte de {firstName}
              </button>
            ) : (
              <form
                className="flex flex-col gap-3 sm:max-w-md"
                noValidate
                onSubmit={deletion.onSubmit}
              >
                <Field
                  id={`${base}-mot-de-passe`}
                  label="Votre mot de passe"
                  type="password"
                  autoComplete="current-password"
                  value={deletion.password}
                  onChange={(e) => deletion.setPassword(e.target.value)}
                  error={deletion.error}
                />
                <button type="submit" className={`${SECONDARY_BUTTON} self-start border-red-700 text-red-800 dark:text-red-200`}>
                  Supprimer le compte de {firstName}
                </button>
              </form>
            )}
          </>
        )}
        <ConfirmDialog
          open={deletion.confirming}
          onOpenChange={deletion.setConfirming}
          title={`Supprimer le compte de ${firstName} ?`}
          description={`Le compte de ${firstName} sera désactivé tout de suite et effacé à la fin du délai de grâce. Vous pourrez annuler d'ici là.`}
          confirmLabel="Oui, supprimer son compte"
          destructive
          onConfirm={deletion.confirm}
        />
      </div>
    </details>
  );
}
