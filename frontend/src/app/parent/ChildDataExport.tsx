"use client";
// A parent asks for an export of a linked child's data (POST /api/students/{id}/data-exports);
// it is prepared in the background and downloaded from "Mes données".
import Link from "next/link";
import { useState } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { ErrorAlert, SMALL_SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

export function ChildDataExport({ studentId, firstName }: { studentId: number; firstName: string }) {
  const [error, setError] = useState<string | null>(null);
  const [requested, setRequested] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <div className="space-y-2">
      <button
        type="button"
        className={SMALL_SECONDARY_BUTTON}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          const { error: apiError } = await api.POST("/api/students/{id}/data-exports", { params: { path: { id: studentId } } });
          setBusy(false);
          if (apiError) setError(errorMessage(apiError));
          else setRequested(true);
        }}
      >
        Télécharger les données de mon enfant<span className="sr-only"> ({firstName})</span>
      </button>
      <ErrorAlert message={error} />
      {requested && (
        <div>
          <SuccessNote message={`Export des données de ${firstName} demandé.`} />
          <Link href="/parametres/donnees" className="text-accent-700 underline underline-offset-2 dark:text-accent-100">
            Le suivre et le télécharger dans « Mes données »
          </Link>
        </div>
      )}
    </div>
  );
}
