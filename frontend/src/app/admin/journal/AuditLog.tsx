"use client";

import Link from "next/link";
import { useState } from "react";
import { api } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { Button, Card, ErrorAlert, Field, Loading, SMALL_SECONDARY_BUTTON } from "@/components/ui";

const ADMIN = ["admin"];
const PAGE_SIZE = 50;

/** What each recorded act means, in the words of the page (unknown ones are shown as recorded). */
export const AUDIT_ACTIONS: Record<string, string> = {
  consent_given: "Accord parental donné",
  consent_withdrawn: "Accord parental retiré",
  export_requested: "Export des données demandé",
  data_export_requested: "Export des données demandé",
  export_downloaded: "Export des données téléchargé",
  data_export_downloaded: "Export des données téléchargé",
  deletion_requested: "Suppression du compte demandée",
  deletion_cancelled: "Suppression du compte annulée",
  account_erased: "Compte effacé",
  retention_purge: "Purge de conservation",
};
const ROLES: Record<string, string> = { student: "élève", parent: "parent", teacher: "enseignant", admin: "administrateur" };

/** The audit log (docs/PRIVACY.md): who did what to whose data, newest first, by pages. */
export function AuditLog() {
  const { allowed } = useRequireRole(ADMIN);
  const [userId, setUserId] = useState<number | undefined>();
  // The cursors of the pages shown so far: [undefined] is the newest page.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const { data, error } = useLoader(
    allowed,
    () => api.GET("/api/admin/audit-log", { params: { query: { before, userId, limit: PAGE_SIZE } } }),
    `${userId ?? ""}:${before ?? ""}`,
  );
  const [filterError, setFilterError] = useState<string | undefined>();

  if (!allowed) return <Loading />;
  const entries = data?.entries ?? [];
  return (
    <div className="space-y-6">
      <nav aria-label="Fil d'Ariane" className="text-sm">
        <Link href="/admin" className="text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
          ← Administration
        </Link>
      </nav>
      <div>
        <h1 className="text-2xl font-bold">Journal d&apos;audit</h1>
        <p className="text-slate-700 dark:text-slate-300">
          Qui a fait quoi sur les données de qui : accords parentaux, exports, suppressions, purges. Les entrées survivent à
          l&apos;effacement d&apos;un compte.
        </p>
      </div>
      <Card>
        <form
          role="search"
          aria-label="Filtrer le journal"
          className="mb-4 flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            const raw = String(new FormData(e.currentTarget).get("compte") ?? "").trim();
            const id = raw === "" ? undefined : Number(raw);
            if (id !== undefined && (!Number.isInteger(id) || id <= 0)) {
              setFilterError("Saisissez le numéro d'un compte (un entier positif), ou laissez vide.");
              return;
            }
            setFilterError(undefined);
            setUserId(id);
            setCursors([undefined]);
          }}
        >
          <Field id="compte" name="compte" label="Numéro du compte (facultatif)" inputMode="numeric" className="w-48" error={filterError} />
          <Button type="submit">Filtrer</Button>
        </form>
        <ErrorAlert message={error} />
        {!data && !error && <Loading />}
        {data && entries.length === 0 && <p className="text-slate-700 dark:text-slate-300">Aucune entrée.</p>}
        {entries.length > 0 && (
          <div className="overflow-x-auto">
            <table className="w-full min-w-[40rem] text-left text-sm" data-testid="audit-log">
              <caption className="sr-only">Entrées du journal d&apos;audit, des plus récentes aux plus anciennes</caption>
              <thead>
                <tr className="border-b border-slate-200 dark:border-slate-700">
                  <th scope="col" className="py-2 pr-3">Date</th>
                  <th scope="col" className="py-2 pr-3">Action</th>
                  <th scope="col" className="py-2 pr-3">Par</th>
                  <th scope="col" className="py-2 pr-3">Concernant</th>
                  <th scope="col" className="py-2">Détails</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} className="border-b border-slate-100 align-top dark:border-slate-800">
                    <td className="py-2 pr-3 whitespace-nowrap">{formatDateTime(e.createdAt)}</td>
                    <td className="py-2 pr-3">{AUDIT_ACTIONS[e.action] ?? e.action}</td>
                    <td className="py-2 pr-3">
                      {e.actorId == null ? "Système" : who(e.actorName, e.actorId)}
                      {e.actorRole && <span className="block text-slate-600 dark:text-slate-300">{ROLES[e.actorRole] ?? e.actorRole}</span>}
                    </td>
                    <td className="py-2 pr-3">{e.subjectId == null ? "—" : who(e.subjectName, e.subjectId)}</td>
                    <td className="py-2 font-mono text-xs break-all">{details(e.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {(cursors.length > 1 || data?.nextBefore != null) && (
          <nav aria-label="Pages du journal" className="mt-4 flex items-center justify-between gap-2">
            <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Plus récentes
            </button>
            <button
              type="button"
              className={SMALL_SECONDARY_BUTTON}
              disabled={data?.nextBefore == null}
              onClick={() => data?.nextBefore != null && setCursors([...cursors, data.nextBefore])}
            >
              Plus anciennes →
            </button>
          </nav>
        )}
      </Card>
    </div>
  );
}

/** A person as the log knows them: their name now, or only their number once erased. */
function who(name: string | null | undefined, id: number): string {
  return name ? `${name} (n° ${id})` : `Compte effacé (n° ${id})`;
}

function details(d: unknown): string {
  if (!d || typeof d !== "object" || Object.keys(d).length === 0) return "";
  return JSON.stringify(d);
}
