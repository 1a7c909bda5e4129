"use client";

// Deletions on the admin's users page (docs/PRIVACY.md, "Deletion and erasure"): the
// accounts waiting for erasure, each with "Annuler"; and, in a user's "Modifier" panel,
// the request to delete that account (the admin's own password typed again).
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { usePasswordConfirmation } from "@/lib/usePasswordConfirmation";
import { useLoader } from "@/lib/useLoader";
import { formatDate } from "@/lib/format";
import { ConfirmDialog } from "@/components/confirm";
import { Card, ErrorAlert, Field, Loading, SMALL_SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

const ASKED_BY: Record<string, string> = { student: "l'élève", parent: "un parent", teacher: "l'enseignant", admin: "l'administration" };

export function PendingDeletions({ version, onChanged }: { version: unknown; onChanged: () => void }) {
  const { data, error, reload } = useLoader(true, () => api.GET("/api/admin/deletions"), version);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  async function cancel(userId: number) {
    setNote(null);
    setFailure(null);
    const { data: status, error: apiError } = await api.DELETE("/api/admin/users/{id}/deletion", { params: { path: { id: userId } } });
    if (apiError) setFailure(errorMessage(apiError));
    else {
      setNote(status.message);
      reload();
      onChanged();
    }
  }
  const list = data?.deletions ?? [];
  return (
    <Card title="Suppressions en attente" id="suppressions">
      <ErrorAlert message={error ?? failure} />
      <SuccessNote message={note} />
      {!data && !error && <Loading />}
      {data && list.length === 0 && <p className="text-slate-700 dark:text-slate-300">Aucun compte en attente d&apos;effacement.</p>}
      {list.length > 0 && (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="pending-deletions">
          {list.map((d) => (
            <li key={d.userId} className="flex flex-wrap items-center justify-between gap-2 py-2">
              <span className="min-w-0">
                <span className="block font-medium">{d.name}</span>
                <span className="block break-all text-sm text-slate-700 dark:text-slate-300">{d.email}</span>
                <span className="block text-sm text-slate-600 dark:text-slate-300">
                  Demandée par {ASKED_BY[d.requestedByRole] ?? d.requestedByRole} · effacement le {formatDate(d.eraseAfter)}
                </span>
              </span>
              <button type="button" className={SMALL_SECONDARY_BUTTON} onClick={() => void cancel(d.userId)}>
                Annuler<span className="sr-only"> la suppression du compte de {d.name}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export function DeleteUser({ userId, name, onRequested }: { userId: number; name: string; onRequested: (message: string) => void }) {
  const deletion = usePasswordConfirmation(
    (password) => api.POST("/api/admin/users/{id}/deletion", { params: { path: { id: userId } }, body: { password } }),
    (status) => onRequested(status.message),
  );
  const id = `supprimer-${userId}-mot-de-passe`;

  return (
    <form
      className="mt-3 flex flex-wrap items-end gap-2 border-t border-slate-100 pt-3 dark:border-slate-800"
      noValidate
      onSubmit={deletion.onSubmit}
    >
      <Field id={id} label="Votre mot de passe (pour supprimer ce compte)" type="password" autoComplete="current-password" value={deletion.password} onChange={(e) => deletion.setPassword(e.target.value)} error={deletion.error} />
      <button type="submit" className={`${SMALL_SECONDARY_BUTTON} border-red-700 text-red-800 dark:text-red-200`}>
        Supprimer le compte<span className="sr-only"> de {name}</span>
      </button>
      <ConfirmDialog
        open={deletion.confirming}
        onOpenChange={deletion.setConfirming}
        title={`Supprimer le compte de ${name} ?`}
        description="Le compte est désactivé tout de suite et effacé à la fin du délai de grâce ; ses notes restent, anonymes, dans les statistiques des classes. Vous pourrez annuler d'ici là."
        confirmLabel="Oui, supprimer ce compte"
        destructive
        onConfirm={deletion.confirm}
      />
    </form>
  );
}
