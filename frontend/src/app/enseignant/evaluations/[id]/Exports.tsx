"use client";

// One assessment's grades per class it is published to, as files for the school's
// gradebook (GET /api/classes/{id}/assessments/{assessmentId}/grades/export).
import { useState } from "react";
import { api, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { downloadFile } from "@/lib/download";
import { Card, ErrorAlert, SMALL_SECONDARY_BUTTON } from "@/components/ui";

export function AssessmentExports({ assessment }: { assessment: Schemas["TeacherAssessment"] }) {
  const { data } = useLoader(assessment.publications.length > 0, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (assessment.publications.length === 0) return null;
  const names = Object.fromEntries((data?.classes ?? []).map((c) => [c.id, c.name]));
  async function get(classId: number, format: "csv" | "xlsx") {
    setBusy(true);
    setError(null);
    setError(await downloadFile(`/api/classes/${classId}/assessments/${assessment.id}/grades/export?format=${format}`, `notes.${format}`));
    setBusy(false);
  }
  return (
    <Card title="Exporter les notes" id="exporter-notes">
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">
        Nom, prénom, note, barème, note sur 20, statut et retard de chaque élève de la classe, à coller dans le carnet de notes de l&apos;établissement.
      </p>
      <ErrorAlert message={error} />
      <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="grade-exports">
        {assessment.publications.map((p) => {
          const name = names[p.classId] ?? `Classe n° ${p.classId}`;
          return (
            <li key={p.classId} className="flex flex-wrap items-center justify-between gap-2 py-2">
              <span className="font-medium">{name}</span>
              <span className="flex gap-2">
                <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={busy} onClick={() => void get(p.classId, "csv")}>
                  CSV<span className="sr-only"> des notes de {name}</span>
                </button>
                <button type="button" className={SMALL_SECONDARY_BUTTON} disabled={busy} onClick={() => void get(p.classId, "xlsx")}>
                  Excel<span className="sr-only"> des notes de {name}</span>
                </button>
              </span>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}
