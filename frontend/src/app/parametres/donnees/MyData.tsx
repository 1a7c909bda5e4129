"use client";
// "Mes données" (RGPD, docs/PRIVACY.md): ask for an export of all one's data, follow it
// (pending → ready, on the live `data_export_ready` notification or by polling every
// 3 s while one is being prepared), download the ZIP. Parents' exports of their
// children appear here too. Account deletion lives on /parametres/compte.
import Link from "next/link";
import { useEffect, useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { downloadFile } from "@/lib/download";
import { formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { Button, Card, ErrorAlert, Loading, SMALL_SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

const ANYONE = ["student", "parent", "teacher", "admin"];

const STATUS: Record<string, string> = {
  pending: "En préparation",
  ready: "Prêt",
  failed: "Échec",
  expired: "Expiré",
};

export function MyData() {
  const { allowed, user } = useRequireRole(ANYONE);
  const { revision } = useNotifications();
  const { data, error: loadError, reload } = useLoader(allowed, () => api.GET("/api/me/data-exports"), revision);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const exports = data?.exports ?? [];
  const preparing = exports.some((e) => e.status === "pending");

  // While an export is being prepared, poll too: the live notification may be missed
  // (no websocket) and the export is usually ready in a few seconds.
  useEffect(() => {
    if (!preparing) return;
    const timer = setInterval(reload, 3000);
    return () => clearInterval(timer);
  }, [preparing, reload]);

  if (!allowed) return <Loading />;

  async function requestExport() {
    setBusy(true);
    setError(null);
    setNote(null);
    const { error: apiError } = await api.POST("/api/me/data-exports");
    setBusy(false);
    if (apiError) setError(errorMessage(apiError));
    else {
      setNote("Export demandé. Vous serez notifié dès qu'il sera prêt.");
      reload();
    }
  }

  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <h1 className="text-2xl font-bold">Mes données</h1>
      <Card title="Télécharger mes données" id="export">
        <div className="flex flex-col gap-4">
          <p>
            Obtenez une archive ZIP (fichiers JSON et CSV) de toutes les données que Nexus Réussite conserve sur vous : profil, progression, évaluations et
            réponses, conversations avec ARIA, messages, notifications. Elle est préparée en quelques instants, puis téléchargeable pendant quelques jours.
          </p>
          <ErrorAlert message={error} />
          <SuccessNote message={note} />
          <Button type="button" onClick={requestExport} disabled={busy || preparing} className="self-start">
            Demander l&apos;export de mes données
          </Button>
        </div>
      </Card>
      <section aria-labelledby="mes-exports" className="space-y-3">
        <h2 id="mes-exports" className="text-xl font-semibold">
          Mes exports
        </h2>
        <ErrorAlert message={loadError} />
        {!data && !loadError && <Loading />}
        {data && exports.length === 0 && <p className="text-slate-700 dark:text-slate-300">Aucun export demandé pour l&apos;instant.</p>}
        {exports.length > 0 && (
          <ul className="space-y-2" data-testid="data-exports">
            {exports.map((e) => (
              <ExportRow key={e.id} item={e} self={e.subjectId === user?.id} onError={setError} />
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="suppression" className="space-y-2">
        <h2 id="suppression" className="text-xl font-semibold">
          Supprimer mon compte
        </h2>
        <p>
          <Link href="/parametres/compte" className="text-accent-700 underline underline-offset-2 dark:text-accent-100">
            Demander la suppression de mon compte
          </Link>
        </p>
      </section>
    </div>
  );
}

function ExportRow({ item, self, onError }: { item: Schemas["DataExport"]; self: boolean; onError: (m: string | null) => void }) {
  const [busy, setBusy] = useState(false);
  const whose = self ? "Mes données" : `Données de ${item.subjectName}`;
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-700 dark:bg-slate-900" data-testid="data-export">
      <div>
        <p className="font-medium">
          {whose} — <span data-testid="export-status">{STATUS[item.status] ?? item.status}</span>
        </p>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Demandé le {formatDateTime(item.createdAt)}
          {item.status === "ready" && item.expiresAt && <> · disponible jusqu&apos;au {formatDateTime(item.expiresAt)}</>}
        </p>
      </div>
      {item.downloadUrl && (
        <button
          type="button"
          className={SMALL_SECONDARY_BUTTON}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            onError(await downloadFile(item.downloadUrl!, `nexus-donnees-${item.id}.zip`));
            setBusy(false);
          }}
        >
          Télécharger<span className="sr-only"> : {whose.toLowerCase()}</span>
        </button>
      )}
    </li>
  );
}
