"use client";

// Publishing to one's classes, each with its own window (opens / closes): POST
// /api/assessments/{id}/publish (again to change the dates), DELETE …/classes/{classId}
// to withdraw (attempts already made are kept).
import { useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { formatDateTime } from "@/lib/format";
import { fromLocalInput, toLocalInput } from "@/lib/assessmentBuilder";
import { ConfirmDialog } from "@/components/confirm";
import { Button, Card, ErrorAlert, Field, SuccessNote } from "@/components/ui";
import { inputClass, labelClass, smallButton } from "./styles";

type Teacher = Schemas["TeacherAssessment"];

export function Publish({ assessment, onChanged }: { assessment: Teacher; onChanged: (a?: Teacher) => void }) {
  const { data } = useLoader(true, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }));
  const classes = data?.classes ?? [];
  const nameOf = (id: number) => classes.find((c) => c.id === id)?.name ?? `Classe n° ${id}`;
  const active = classes.filter((c) => !c.archived);
  const [classId, setClassId] = useState("");
  const [opens, setOpens] = useState("");
  const [closes, setCloses] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = classId || (active[0] ? String(active[0].id) : "");
  const already = assessment.publications.some((p) => String(p.classId) === chosen);

  const publish = async () => {
    setErrors({});
    setGeneral(null);
    setDone(null);
    if (!chosen) {
      setErrors({ classId: "Choisissez une classe." });
      return;
    }
    setBusy(true);
    const { data: saved, error } = await api.POST("/api/assessments/{id}/publish", {
      params: { path: { id: assessment.id } },
      body: { classId: Number(chosen), opensAt: fromLocalInput(opens), closesAt: fromLocalInput(closes) },
    });
    setBusy(false);
    if (saved) {
      setDone(already ? `Dates mises à jour pour ${nameOf(Number(chosen))}.` : `Publiée dans ${nameOf(Number(chosen))} : les élèves sont prévenus.`);
      setOpens("");
      setCloses("");
      onChanged(saved.assessment);
      return;
    }
    const fields = fieldErrors(error);
    setErrors(fields);
    if (Object.keys(fields).length === 0) setGeneral(errorMessage(error));
  };

  return (
    <div className="space-y-6">
      <Card title="Classes où elle est publiée" id="publications">
        {assessment.publications.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300">Pas encore publiée : c&apos;est un brouillon que vos élèves ne voient pas.</p>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-800" data-testid="publications">
            {assessment.publications.map((p) => (
              <li key={p.classId} className="flex flex-wrap items-center justify-between gap-2 py-3">
                <span>
                  <span className="font-medium">{nameOf(p.classId)}</span>
                  <span className="block text-sm text-slate-700 dark:text-slate-300">
                    Ouverte {formatDateTime(p.opensAt)} · {p.closesAt ? `fermeture ${formatDateTime(p.closesAt)}` : "sans date de fermeture"}
                  </span>
                </span>
                <span className="flex gap-2">
                  <button
                    type="button"
                    className={smallButton}
                    onClick={() => {
                      setClassId(String(p.classId));
                      setOpens(toLocalInput(p.opensAt));
                      setCloses(toLocalInput(p.closesAt));
                      requestAnimationFrame(() => document.getElementById("ouverture")?.focus());
                    }}
                  >
                    Modifier les dates<span className="sr-only"> pour {nameOf(p.classId)}</span>
                  </button>
                  <ConfirmDialog
                    trigger={
                      <button type="button" className={`${smallButton} text-red-800 dark:text-red-300`}>
                        Retirer<span className="sr-only"> de {nameOf(p.classId)}</span>
                      </button>
                    }
                    title={`Retirer l'évaluation de ${nameOf(p.classId)} ?`}
                    description="Les élèves de cette classe ne la verront plus et ne pourront plus la commencer. Les tentatives déjà faites sont gardées."
                    confirmLabel="Retirer"
                    destructive
                    onConfirm={async () => {
                      const { error } = await api.DELETE("/api/assessments/{id}/classes/{classId}", {
                        params: { path: { id: assessment.id, classId: p.classId } },
                      });
                      if (error) return errorMessage(error);
                      setDone(`Retirée de ${nameOf(p.classId)}.`);
                      onChanged();
                    }}
                  />
                </span>
              </li>
            ))}
          </ul>
        )}
      </Card>

      <Card title={already ? "Modifier les dates" : "Publier dans une classe"} id="publier">
        {active.length === 0 && data ? (
          <p className="text-slate-700 dark:text-slate-300">Vous n&apos;avez aucune classe active : créez-en une dans « Classes ».</p>
        ) : (
          <form
            noValidate
            className="space-y-4"
            onSubmit={(e) => {
              e.preventDefault();
              void publish();
            }}
          >
            <div className="grid gap-4 md:grid-cols-3">
              <div className="flex flex-col gap-1">
                <label htmlFor="classe" className={labelClass}>
                  Classe
                </label>
                <select
                  id="classe"
                  className={inputClass}
                  value={chosen}
                  aria-invalid={errors.classId ? true : undefined}
                  aria-describedby={errors.classId ? "classe-erreur" : undefined}
                  onChange={(e) => setClassId(e.target.value)}
                >
                  {active.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                      {assessment.publications.some((p) => p.classId === c.id) ? " (déjà publiée)" : ""}
                    </option>
                  ))}
                </select>
                {errors.classId && (
                  <p id="classe-erreur" className="text-sm text-red-700 dark:text-red-300">
                    {errors.classId}
                  </p>
                )}
              </div>
              <Field id="ouverture" type="datetime-local" label="Ouverture" hint="Vide : dès maintenant." value={opens} error={errors.opensAt} onChange={(e) => setOpens(e.target.value)} />
              <Field id="fermeture" type="datetime-local" label="Fermeture" hint="Vide : jamais fermée." value={closes} error={errors.closesAt} onChange={(e) => setCloses(e.target.value)} />
            </div>
            <div className="flex flex-wrap items-center gap-3">
              <Button type="submit" disabled={busy}>
                {busy ? "Publication…" : already ? "Mettre à jour les dates" : "Publier"}
              </Button>
              <ErrorAlert message={general} />
            </div>
          </form>
        )}
        <div className="mt-3">
          <SuccessNote message={done} />
        </div>
      </Card>
    </div>
  );
}
