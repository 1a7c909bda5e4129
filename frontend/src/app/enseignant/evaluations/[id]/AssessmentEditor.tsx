"use client";

// One assessment for its author: the builder (questions and settings), publication to
// classes, results per student and per question, and the grading queue. The view is in
// the URL (?vue=questions|publication|resultats|correction, ?copie= for a copy), so a
// reload or a link from the results lands where it should. `nouvelle` is a blank one.
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { ASSESSMENT_TYPES, formatNumber } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { ConfirmDialog } from "@/components/confirm";
import { ErrorAlert, Loading } from "@/components/ui";
import { Builder } from "./Builder";
import { Grading } from "./Grading";
import { Publish } from "./Publish";
import { Results } from "./Results";
import { AssessmentExports } from "./Exports";
import { secondary } from "./styles";

const TEACHER = ["teacher", "admin"];
const VIEWS = [
  { id: "questions", label: "Questions et paramètres" },
  { id: "publication", label: "Publication" },
  { id: "resultats", label: "Résultats" },
  { id: "correction", label: "Correction" },
] as const;
type View = (typeof VIEWS)[number]["id"];
type Teacher = Schemas["TeacherAssessment"];

export function AssessmentEditor({ id }: { id: string }) {
  const { allowed } = useRequireRole(TEACHER);
  const { revision } = useNotifications();
  const router = useRouter();
  const params = useSearchParams();
  const isNew = id === "nouvelle";
  const assessmentId = Number(id);
  const valid = isNew || (Number.isInteger(assessmentId) && assessmentId > 0);
  const asked = params.get("vue");
  const view: View = isNew ? "questions" : (VIEWS.find((v) => v.id === asked)?.id ?? "questions");
  const copy = Number(params.get("copie")) || null;
  const [fresh, setFresh] = useState<Teacher | null>(null);

  const { data, error, reload } = useLoader(allowed && valid && !isNew, () => api.GET("/api/assessments/{id}", { params: { path: { id: assessmentId } } }), id);
  // The attempts: again on each view change and live notification (and after grading).
  const {
    data: attemptsData,
    error: attemptsError,
    reload: reloadAttempts,
  } = useLoader(allowed && valid && !isNew, () => api.GET("/api/assessments/{id}/attempts", { params: { path: { id: assessmentId }, query: { limit: 100 } } }), `${id}:${view}:${String(revision)}`);

  if (!allowed) return <Loading />;
  if (!valid) return <ErrorAlert message="Évaluation introuvable." />;

  const back = (
    <nav aria-label="Fil d'Ariane" className="text-sm">
      <Link href="/enseignant/evaluations" className="text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
        ← Mes évaluations
      </Link>
    </nav>
  );

  if (isNew) {
    return (
      <div className="space-y-6">
        {back}
        <h1 className="text-2xl font-bold">Nouvelle évaluation</h1>
        <Builder
          assessment={null}
          locked={false}
          onSaved={(a) => {
            router.replace(`/enseignant/evaluations/${a.id}?vue=publication&creee=1`);
          }}
        />
      </div>
    );
  }

  const loaded = data?.assessment.view === "teacher" ? data.assessment : null;
  const assessment: Teacher | null = fresh && fresh.id === assessmentId ? fresh : loaded;
  if (!assessment) {
    return (
      <div className="space-y-4">
        {back}
        {error ? <ErrorAlert message={error} /> : data ? <ErrorAlert message="Cette évaluation n'est pas l'une des vôtres." /> : <Loading />}
      </div>
    );
  }
  const attempts = attemptsData?.attempts ?? [];
  const locked = attempts.length > 0;
  const queue = attempts.filter((a) => a.status === "submitted" || a.status === "refused").length;
  const changed = (a?: Teacher) => {
    if (a) setFresh(a);
    else {
      setFresh(null);
      reload();
    }
  };

  return (
    <div className="space-y-6">
      {back}
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <p className="mb-1">
            <span className="rounded-full bg-accent-50 px-2 py-0.5 text-sm font-medium text-accent-800 dark:bg-slate-800 dark:text-accent-100">
              {ASSESSMENT_TYPES[assessment.type] ?? assessment.type}
            </span>
          </p>
          <h1 className="text-2xl font-bold">{assessment.title}</h1>
          <p className="text-slate-700 dark:text-slate-300" data-testid="etat-evaluation">
            {assessment.questions.length} question{assessment.questions.length > 1 ? "s" : ""} · {formatNumber(assessment.maxScore)} points ·{" "}
            {assessment.publications.length === 0
              ? "brouillon"
              : `publiée dans ${assessment.publications.length} classe${assessment.publications.length > 1 ? "s" : ""}`}
          </p>
        </div>
        {!locked && attemptsData && <DeleteButton assessment={assessment} onDeleted={() => router.replace("/enseignant/evaluations")} />}
      </div>
      {params.get("creee") && view === "publication" && (
        <p role="status" className="rounded-md border border-emerald-300 bg-emerald-50 px-3 py-2 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100">
          Évaluation créée. Publiez-la dans une classe pour que vos élèves la voient.
        </p>
      )}
      <nav aria-label="Vues de l'évaluation">
        <ul className="flex gap-1 overflow-x-auto border-b border-slate-200 whitespace-nowrap dark:border-slate-800">
          {VIEWS.map((v) => (
            <li key={v.id}>
              <Link
                href={`/enseignant/evaluations/${assessment.id}?vue=${v.id}`}
                aria-current={v.id === view ? "page" : undefined}
                scroll={false}
                className="relative -mb-px inline-block border-b-2 border-transparent px-3 py-2 text-slate-700 hover:text-slate-900 aria-[current=page]:border-accent-700 aria-[current=page]:font-semibold aria-[current=page]:text-accent-800 dark:text-slate-300 dark:aria-[current=page]:text-accent-100"
              >
                {v.label}
                {v.id === "correction" && queue > 0 ? (
                  <span className="ml-1 rounded-full bg-accent-700 px-1.5 text-sm text-white" data-testid="file-compte">
                    {queue}
                    <span className="sr-only"> à corriger</span>
                  </span>
                ) : null}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <ErrorAlert message={attemptsError} />
      {view === "questions" && attemptsData && (
        <Builder
          key={`${assessment.id}:${locked}`}
          assessment={assessment}
          locked={locked}
          onSaved={(a) => setFresh(a)}
        />
      )}
      {view === "questions" && !attemptsData && !attemptsError && <Loading />}
      {view === "publication" && <Publish assessment={assessment} onChanged={changed} />}
      {view === "resultats" && <Results assessment={assessment} attempts={attempts} onChanged={changed} />}
      {view === "resultats" && <AssessmentExports assessment={assessment} />}
      {view === "correction" && <Grading assessment={assessment} attempts={attempts} selected={copy} onGraded={reloadAttempts} />}
    </div>
  );
}

function DeleteButton({ assessment, onDeleted }: { assessment: Teacher; onDeleted: () => void }) {
  return (
    <ConfirmDialog
      trigger={
        <button type="button" className={`${secondary} text-red-800 dark:text-red-300`}>
          Supprimer l&apos;évaluation
        </button>
      }
      title={`Supprimer « ${assessment.title} » ?`}
      description="Elle disparaîtra de vos évaluations et des classes où elle est publiée. Possible seulement tant qu'aucun élève ne l'a commencée."
      confirmLabel="Supprimer"
      destructive
      onConfirm={async () => {
        const { error } = await api.DELETE("/api/assessments/{id}", { params: { path: { id: assessment.id } } });
        if (error) return errorMessage(error);
        onDeleted();
      }}
    />
  );
}
