"use client";

// A class's spreadsheet tools: export its grades (CSV for the gradebook, Excel) and import
// a roster from a Pronote/ENT CSV, with a dry run shown row by row before anything is written.
import { useState } from "react";
import { errorMessage, fieldErrors, GENERIC_ERROR, NETWORK_ERROR, tokens, type Schemas } from "@/lib/api/client";
import { downloadFile } from "@/lib/download";
import { Button, Card, ErrorAlert, LabelledSelect, SECONDARY_BUTTON, SuccessNote } from "@/components/ui";

type Report = Schemas["ImportReport"];
type Outcome = Schemas["Outcome"];

export const OUTCOMES: Record<Outcome, string> = {
  create: "Compte créé et inscrit",
  invite: "Invitation (compte existant)",
  already_member: "Déjà dans la classe",
  skipped: "Ignorée",
  error: "Erreur",
};

const OUTCOME_CLASS: Record<Outcome, string> = {
  create: "bg-emerald-50 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100",
  invite: "bg-sky-50 text-sky-900 dark:bg-sky-950 dark:text-sky-100",
  already_member: "text-slate-700 dark:text-slate-300",
  skipped: "text-slate-700 dark:text-slate-300",
  error: "bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100",
};

export function GradeExport({ classId }: { classId: number }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function get(format: "csv" | "xlsx") {
    setBusy(true);
    setError(null);
    setError(await downloadFile(`/api/classes/${classId}/grades/export?format=${format}`, `notes.${format}`));
    setBusy(false);
  }
  return (
    <Card title="Exporter les notes" id="exporter">
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
        Un élève par ligne (nom, prénom), une colonne par évaluation publiée dans la classe (meilleure tentative corrigée), puis la moyenne sur 20. Le CSV s&apos;ouvre dans
        Excel ou LibreOffice et se colle dans le carnet de notes de l&apos;établissement.
      </p>
      <ErrorAlert message={error} />
      <div className="flex flex-wrap gap-2">
        <button type="button" className={SECONDARY_BUTTON} disabled={busy} onClick={() => void get("csv")}>
          Télécharger en CSV
        </button>
        <button type="button" className={SECONDARY_BUTTON} disabled={busy} onClick={() => void get("xlsx")}>
          Télécharger en Excel (.xlsx)
        </button>
      </div>
    </Card>
  );
}

async function sendRoster(classId: number, file: File, dryRun: boolean, sourceClass: string): Promise<{ report?: Report; error?: string; fileError?: string }> {
  const query = new URLSearchParams({ dryRun: String(dryRun) });
  if (sourceClass) query.set("sourceClass", sourceClass);
  let res: Response;
  try {
    res = await tokens.fetch(
      new Request(new URL(`/api/classes/${classId}/roster/import?${query.toString()}`, window.location.origin), {
        method: "POST",
        headers: { "content-type": "text/csv" },
        body: await file.arrayBuffer(),
      }),
    );
  } catch {
    return { error: NETWORK_ERROR };
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.ok && body) return { report: body as Report };
  if (!body) return { error: GENERIC_ERROR };
  const fields = fieldErrors(body);
  return fields.file ? { fileError: fields.file } : { error: errorMessage(body) };
}

export function RosterImport({ classId, archived, onImported }: { classId: number; archived: boolean; onImported: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [sourceClass, setSourceClass] = useState("");
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | undefined>();
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(dryRun: boolean, source = sourceClass) {
    if (!file) {
      setFileError("Choisissez un fichier CSV.");
      return;
    }
    setBusy(true);
    setError(null);
    setFileError(undefined);
    setNote(null);
    const result = await sendRoster(classId, file, dryRun, source);
    setBusy(false);
    if (result.fileError) setFileError(result.fileError);
    if (result.error) setError(result.error);
    if (!result.report) return;
    if (dryRun) setReport(result.report);
    else {
      const s = result.report.summary;
      setReport(null);
      setFile(null);
      setNote(`Import terminé : ${s.created} compte(s) créé(s), ${s.invited} invitation(s) envoyée(s), ${s.errors} ligne(s) en erreur non importée(s).`);
      onImported();
    }
  }

  const actionable = report ? report.summary.created + report.summary.invited : 0;
  return (
    <Card title="Importer une liste d'élèves" id="importer">
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
        Fichier CSV exporté de Pronote ou de l&apos;ENT (colonnes nom, prénom, email, classe, date de naissance ; séparateur « ; » ou « , »). Rien n&apos;est enregistré
        avant votre confirmation : vous voyez d&apos;abord ce que deviendra chaque ligne.
      </p>
      <ErrorAlert message={error} />
      <SuccessNote message={note} />
      <div className="flex flex-col gap-3">
        <div className="flex flex-col gap-1">
          <label htmlFor="roster-file" className="font-medium">
            Fichier CSV
          </label>
          <input
            id="roster-file"
            type="file"
            accept=".csv,text/csv"
            disabled={archived || busy}
            aria-invalid={fileError ? true : undefined}
            aria-describedby={fileError ? "roster-file-error" : undefined}
            className="text-sm"
            onChange={(e) => {
              setFile(e.currentTarget.files?.[0] ?? null);
              setReport(null);
              setSourceClass("");
              setNote(null);
            }}
          />
          {fileError && (
            <p id="roster-file-error" className="text-sm text-red-700 dark:text-red-300">
              {fileError}
            </p>
          )}
        </div>
        <Button type="button" className="self-start" disabled={archived || busy || !file} onClick={() => void run(true)}>
          {busy ? "Analyse…" : "Vérifier le fichier"}
        </Button>
      </div>
      {report && (
        <div className="mt-4 space-y-3" data-testid="import-preview">
          {report.classesInFile.length > 1 && (
            <LabelledSelect
              id="roster-source"
              label="Classe du fichier à importer"
              value={sourceClass}
              onChange={(e) => {
                setSourceClass(e.currentTarget.value);
                void run(true, e.currentTarget.value);
              }}
            >
              <option value="">Toutes les lignes</option>
              {report.classesInFile.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </LabelledSelect>
          )}
          <p role="status" className="font-medium">
            {report.summary.rows} ligne(s) : {report.summary.created} compte(s) à créer, {report.summary.invited} invitation(s), {report.summary.alreadyMember} déjà dans la
            classe, {report.summary.skipped} ignorée(s), {report.summary.errors} erreur(s).
          </p>
          <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Aperçu de l'import">
            <table className="w-full text-left text-sm" data-testid="import-rows">
              <caption className="sr-only">Ce que deviendra chaque ligne du fichier</caption>
              <thead>
                <tr>
                  <th scope="col" className="px-2 py-1">Ligne</th>
                  <th scope="col" className="px-2 py-1">Élève</th>
                  <th scope="col" className="px-2 py-1">E-mail</th>
                  <th scope="col" className="px-2 py-1">Classe</th>
                  <th scope="col" className="px-2 py-1">Résultat</th>
                </tr>
              </thead>
              <tbody>
                {report.rows.map((r) => (
                  <tr key={r.line} className={OUTCOME_CLASS[r.outcome]}>
                    <td className="px-2 py-1 tabular-nums">{r.line}</td>
                    <td className="px-2 py-1">
                      {r.lastName} {r.firstName}
                    </td>
                    <td className="px-2 py-1 break-all">{r.email}</td>
                    <td className="px-2 py-1">{r.className}</td>
                    <td className="px-2 py-1">
                      <span className="font-medium">{OUTCOMES[r.outcome]}</span>
                      {r.message ? ` — ${r.message}` : ""}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="flex flex-wrap gap-2">
            <Button type="button" disabled={busy || actionable === 0} onClick={() => void run(false)}>
              Confirmer l&apos;import
            </Button>
            <button type="button" className={SECONDARY_BUTTON} onClick={() => setReport(null)}>
              Annuler
            </button>
          </div>
          {actionable === 0 && <p className="text-sm text-slate-700 dark:text-slate-300">Aucune ligne à importer.</p>}
        </div>
      )}
    </Card>
  );
}
