"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useDeferredValue, useEffect, useRef, useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CATEGORIES, categoryLabel } from "@/lib/courses";
import { CLASS_LEVELS, classLevelOf } from "@/lib/format";
import { formatDateTime } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { ConfirmDialog } from "@/components/confirm";
import { SectionBody } from "@/components/SectionBody";
import { Button, Card, ErrorAlert, Field, LabelledSelect, Loading, SuccessNote, TextArea } from "@/components/ui";
import { allIds, draftOf, inputOf, move, newId, untitled, type Chapter, type Draft, type Section } from "../authoring";
import { MarkdownEditor } from "./MarkdownEditor";
import { SectionExtras } from "./SectionExtras";

// Teachers: an admin may change any course through the API, but the page's class list
// (the course's own classes among "mine") is a teacher's view.
const AUTHORS = ["teacher"];
// Where the focus goes for a field the API refused, first to last.
const FIELD_IDS: [string, string][] = [
  ["title", "edit-titre"],
  ["level", "edit-niveau"],
  ["category", "edit-theme"],
  ["estimatedTime", "edit-duree"],
  ["description", "edit-description"],
  ["prerequisites", "edit-prerequis"],
  ["objectives", "edit-objectifs"],
  ["content", "plan-titre"],
];
const SECONDARY =
  "rounded-md border border-slate-400 px-3 py-2 font-medium text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50 dark:text-slate-100 dark:hover:bg-slate-800";
const ICON_BUTTON =
  "rounded-md border border-slate-300 px-2 py-1 text-sm text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-40 dark:border-slate-600 dark:text-slate-100 dark:hover:bg-slate-800";

/** The teacher's editor of one course: metadata, chapters and sections, publication, classes. */
export function CourseEditor({ id }: { id: string }) {
  const courseId = Number(id);
  const { allowed } = useRequireRole(AUTHORS);
  const router = useRouter();
  const { data: loaded, error: loadError } = useLoader(allowed, () => api.GET("/api/courses/{id}", { params: { path: { id: courseId } } }), id);

  // The course as the API last answered, the form, and what was last saved of it.
  const [course, setCourse] = useState<Schemas["CourseDetail"] | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [baseline, setBaseline] = useState("");
  const [selectedId, setSelectedId] = useState<string | null>(null);
  if (loaded && !course) {
    const d = draftOf(loaded);
    setCourse(loaded);
    setDraft(d);
    setBaseline(JSON.stringify(inputOf(d)));
    setSelectedId(d.chapters.flatMap((c) => c.sections ?? [])[0]?.id ?? null);
  }

  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const focusNext = useRef<string[] | null>(null);

  const dirty = draft !== null && JSON.stringify(inputOf(draft)) !== baseline;

  // The focus to move once the change is on screen (a moved chapter's button, a refused field).
  useEffect(() => {
    const targets = focusNext.current;
    if (!targets) return;
    focusNext.current = null;
    for (const t of targets) {
      const el = document.getElementById(t);
      if (el && !(el instanceof HTMLButtonElement && el.disabled)) {
        el.focus();
        if (el instanceof HTMLInputElement && t.startsWith("chapitre-titre-")) el.select();
        break;
      }
    }
  });

  // Leaving with unsaved changes asks first: closing or reloading the tab (the browser's
  // own question), and the app's links (caught before Next's router sees the click).
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    const onClick = (e: MouseEvent) => {
      const link = e.target instanceof Element ? e.target.closest("a[href]") : null;
      if (!link || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      if (!window.confirm("Vos modifications ne sont pas enregistrées. Quitter quand même cette page ?")) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener("beforeunload", warn);
    document.addEventListener("click", onClick, true);
    return () => {
      window.removeEventListener("beforeunload", warn);
      document.removeEventListener("click", onClick, true);
    };
  }, [dirty]);

  if (!allowed || (!draft && !loadError)) return <Loading />;
  if (!draft || !course) {
    return (
      <div className="space-y-4">
        <BackLink />
        <h1 className="text-2xl font-bold">Modifier le cours</h1>
        <ErrorAlert message={loadError} />
      </div>
    );
  }

  /** A field's message goes once it is changed (the API checks it again on saving); the
   * alert's "some fields are invalid" goes with the last of them. */
  const clearErrors = (fields: string[]) => {
    if (!fields.some((k) => errors[k])) return;
    const left = Object.fromEntries(Object.entries(errors).filter(([k]) => !fields.includes(k)));
    setErrors(left);
    if (Object.keys(left).length === 0) setError(null);
  };
  const update = (patch: Partial<Draft>) => {
    setDraft((d) => (d ? { ...d, ...patch } : d));
    clearErrors(Object.keys(patch));
  };
  const setChapters = (f: (chapters: Chapter[]) => Chapter[]) => {
    setDraft((d) => (d ? { ...d, chapters: f(d.chapters) } : d));
    clearErrors(["content"]);
  };
  const updateSection = (sid: string, patch: Partial<Section>) =>
    setChapters((cs) => cs.map((c) => ({ ...c, sections: (c.sections ?? []).map((s) => (s.id === sid ? { ...s, ...patch } : s)) })));

  function refused(apiError: unknown) {
    const fields = fieldErrors(apiError);
    setErrors(fields);
    setError(errorMessage(apiError));
    const first = FIELD_IDS.find(([f]) => fields[f]);
    if (first) focusNext.current = [first[1]];
  }

  /** PUT the whole course (the API replaces it all); true when saved. */
  async function save(): Promise<boolean> {
    if (!draft) return false;
    const body = inputOf(draft);
    setBusy(true);
    setError(null);
    setErrors({});
    setNotice(null);
    const { data, error: apiError } = await api.PUT("/api/courses/{id}", { params: { path: { id: courseId } }, body });
    setBusy(false);
    if (!data) {
      refused(apiError);
      return false;
    }
    setCourse(data.course);
    setBaseline(JSON.stringify(body));
    setSavedAt(data.course.updatedAt);
    return true;
  }

  async function onSave() {
    if (await save()) setNotice(course?.isPublished ? "Modifications enregistrées : les élèves les voient déjà." : "Brouillon enregistré.");
  }

  async function onPublish() {
    if (dirty && !(await save())) return;
    setBusy(true);
    setError(null);
    setErrors({});
    const { data, error: apiError } = await api.POST("/api/courses/{id}/publish", { params: { path: { id: courseId } } });
    setBusy(false);
    if (!data) return refused(apiError);
    setCourse(data.course);
    setNotice("Cours publié : les élèves des classes auxquelles il est attribué sont prévenus.");
  }

  async function onUnpublish(): Promise<string | null> {
    const { data, error: apiError } = await api.POST("/api/courses/{id}/unpublish", { params: { path: { id: courseId } } });
    if (!data) return errorMessage(apiError);
    setCourse(data.course);
    setNotice("Le cours est de nouveau un brouillon : les élèves ne le voient plus.");
    return null;
  }

  async function onDelete(): Promise<string | null> {
    const { error: apiError, response } = await api.DELETE("/api/courses/{id}", { params: { path: { id: courseId } } });
    if (!response.ok) return errorMessage(apiError);
    router.push("/enseignant/cours");
    return null;
  }

  // Chapters and sections.
  function addChapter() {
    const cid = newId("chapitre", allIds(draft!.chapters));
    setChapters((cs) => [...cs, { id: cid, title: "Nouveau chapitre", sections: [] }]);
    focusNext.current = [`chapitre-titre-${cid}`];
  }
  function addSection(ci: number) {
    const sid = newId("section", allIds(draft!.chapters));
    setChapters((cs) => cs.map((c, i) => (i === ci ? { ...c, sections: [...(c.sections ?? []), { id: sid, title: "Nouvelle section", content: "" }] } : c)));
    setSelectedId(sid);
    focusNext.current = ["section-titre-champ"];
  }
  function moveChapter(ci: number, by: -1 | 1) {
    const cid = draft!.chapters[ci]!.id;
    setChapters((cs) => move(cs, ci, ci + by));
    focusNext.current = by < 0 ? [`monter-${cid}`, `descendre-${cid}`] : [`descendre-${cid}`, `monter-${cid}`];
  }
  /** Up from a chapter's first section goes to the end of the previous chapter; down likewise. */
  function moveSection(ci: number, si: number, by: -1 | 1) {
    const sections = draft!.chapters[ci]!.sections ?? [];
    const sid = sections[si]!.id;
    setChapters((cs) => {
      const out = cs.map((c) => ({ ...c, sections: (c.sections ?? []).slice() }));
      const from = out[ci]!.sections!;
      const target = si + by;
      if (target >= 0 && target < from.length) {
        out[ci]!.sections = move(from, si, target);
      } else if (by < 0 && ci > 0) {
        const [s] = from.splice(si, 1);
        out[ci - 1]!.sections!.push(s!);
      } else if (by > 0 && ci < out.length - 1) {
        const [s] = from.splice(si, 1);
        out[ci + 1]!.sections!.unshift(s!);
      }
      return out;
    });
    focusNext.current = by < 0 ? [`monter-${sid}`, `descendre-${sid}`] : [`descendre-${sid}`, `monter-${sid}`];
  }
  function deleteChapter(ci: number) {
    const removed = new Set([draft!.chapters[ci]!.id, ...(draft!.chapters[ci]!.sections ?? []).map((s) => s.id)]);
    setChapters((cs) => cs.filter((_, i) => i !== ci));
    if (selectedId && removed.has(selectedId)) setSelectedId(null);
  }
  function deleteSection(sid: string) {
    setChapters((cs) => cs.map((c) => ({ ...c, sections: (c.sections ?? []).filter((s) => s.id !== sid) })));
    if (selectedId === sid) setSelectedId(null);
  }

  const sections = draft.chapters.flatMap((c, ci) => (c.sections ?? []).map((s) => ({ section: s, chapter: c, chapterIndex: ci })));
  const selected = sections.find((s) => s.section.id === selectedId) ?? null;
  const missingTitles = errors.content ? untitled(draft.chapters) : new Set<string>();
  const categories = Object.entries(CATEGORIES);
  if (draft.category && !CATEGORIES[draft.category]) categories.push([draft.category, categoryLabel(draft.category)]);

  return (
    <div
      className="space-y-6 xl:relative xl:left-1/2 xl:w-[min(90rem,calc(100vw-3rem))] xl:-translate-x-1/2"
      onKeyDown={(e) => {
        if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
          e.preventDefault();
          if (!busy) void onSave();
        }
      }}
    >
      <div>
        <BackLink />
        <h1 className="mt-2 text-2xl font-bold">{course.title}</h1>
        <p className="mt-1 flex flex-wrap items-center gap-2 text-sm text-slate-700 dark:text-slate-300">
          <span
            data-testid="course-state"
            className={`rounded-full px-2 py-0.5 font-medium ${course.isPublished ? "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100" : "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100"}`}
          >
            {course.isPublished ? "Publié" : "Brouillon"}
          </span>
          <span>Dernier enregistrement : {formatDateTime(savedAt ?? course.updatedAt)}</span>
        </p>
      </div>

      <section aria-label="Enregistrer et publier" className="rounded-xl border border-slate-200 bg-white/95 p-3 shadow-sm dark:border-slate-800 dark:bg-slate-900/95">
        <div className="flex flex-wrap items-center gap-2">
          <Button type="button" onClick={() => void onSave()} disabled={busy} aria-keyshortcuts="Control+S">
            {course.isPublished ? "Enregistrer les modifications" : "Enregistrer le brouillon"}
          </Button>
          {course.isPublished ? (
            <ConfirmDialog
              trigger={
                <button type="button" className={SECONDARY} disabled={busy}>
                  Repasser en brouillon
                </button>
              }
              title="Repasser ce cours en brouillon ?"
              description="Les élèves et les parents ne le verront plus (leur progression est gardée). Vous pourrez le republier."
              confirmLabel="Repasser en brouillon"
              onConfirm={onUnpublish}
            />
          ) : (
            <button type="button" className={SECONDARY} disabled={busy} onClick={() => void onPublish()}>
              {dirty ? "Enregistrer et publier" : "Publier"}
            </button>
          )}
          <p role="status" className="text-sm text-slate-700 dark:text-slate-300" data-testid="save-state">
            {busy ? "Enregistrement…" : dirty ? "Modifications non enregistrées" : "Tout est enregistré"}
          </p>
        </div>
        {course.isPublished && (
          <p className="mt-2 text-sm text-slate-700 dark:text-slate-300">Ce cours est publié : ce que vous enregistrez est aussitôt visible des élèves.</p>
        )}
        <div className="mt-2 space-y-2 empty:hidden">
          <ErrorAlert message={error} />
          <SuccessNote message={notice} />
        </div>
      </section>

      <Card title="Informations" id="informations">
        <div className="grid gap-4 md:grid-cols-2">
          <Field id="edit-titre" label="Titre du cours" value={draft.title} onChange={(e) => update({ title: e.target.value })} error={errors.title} maxLength={200} />
          <div className="grid grid-cols-2 gap-4">
            <LabelledSelect id="edit-niveau" label="Niveau" value={draft.level} onChange={(e) => update({ level: classLevelOf(e.target.value) ?? draft.level })} error={errors.level}>
              {Object.entries(CLASS_LEVELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </LabelledSelect>
            <Field
              id="edit-duree"
              label="Durée (minutes)"
              type="number"
              inputMode="numeric"
              min={0}
              step={1}
              value={draft.estimatedTime}
              onChange={(e) => update({ estimatedTime: e.target.value })}
              error={errors.estimatedTime}
            />
          </div>
          <LabelledSelect id="edit-theme" label="Thème" value={draft.category} onChange={(e) => update({ category: e.target.value })} error={errors.category}>
            <option value="">Aucun</option>
            {categories.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </LabelledSelect>
          <TextArea id="edit-description" label="Résumé" rows={3} value={draft.description} onChange={(e) => update({ description: e.target.value })} error={errors.description} />
          <TextArea
            id="edit-prerequis"
            label="Prérequis"
            hint="Un par ligne."
            rows={3}
            value={draft.prerequisites}
            onChange={(e) => update({ prerequisites: e.target.value })}
            error={errors.prerequisites}
          />
          <TextArea
            id="edit-objectifs"
            label="Objectifs"
            hint="Un par ligne."
            rows={3}
            value={draft.objectives}
            onChange={(e) => update({ objectives: e.target.value })}
            error={errors.objectives}
          />
        </div>
      </Card>

      <div className="grid items-start gap-6 lg:grid-cols-[17rem_minmax(0,1fr)] xl:grid-cols-[17rem_minmax(0,1fr)_minmax(0,1fr)]">
        <section aria-labelledby="plan-titre" className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
          <h2 id="plan-titre" tabIndex={-1} className="mb-3 text-lg font-semibold">
            Plan du cours
          </h2>
          {errors.content && (
            <p id="plan-erreur" className="mb-3 text-sm text-red-700 dark:text-red-300" data-testid="content-error">
              {errors.content}
            </p>
          )}
          {draft.chapters.length === 0 && <p className="mb-3 text-slate-700 dark:text-slate-300">Aucun chapitre : commencez par en ajouter un.</p>}
          <ol className="space-y-4">
            {draft.chapters.map((c, ci) => (
              <li key={c.id} className="rounded-lg border border-slate-200 p-3 dark:border-slate-700">
                <label htmlFor={`chapitre-titre-${c.id}`} className="text-sm font-medium">
                  Titre du chapitre {ci + 1}
                </label>
                <input
                  id={`chapitre-titre-${c.id}`}
                  value={c.title}
                  maxLength={200}
                  aria-invalid={missingTitles.has(c.id) ? true : undefined}
                  aria-describedby={missingTitles.has(c.id) ? "plan-erreur" : undefined}
                  onChange={(e) => setChapters((cs) => cs.map((x) => (x.id === c.id ? { ...x, title: e.target.value } : x)))}
                  className="mt-1 w-full rounded-md border border-slate-400 bg-white px-2 py-1.5 text-slate-900 aria-[invalid=true]:border-red-700 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
                />
                <div className="mt-2 flex flex-wrap gap-1">
                  <button id={`monter-${c.id}`} type="button" className={ICON_BUTTON} disabled={ci === 0} onClick={() => moveChapter(ci, -1)}>
                    <span aria-hidden="true">↑</span>
                    <span className="sr-only">Monter le chapitre {ci + 1}</span>
                  </button>
                  <button id={`descendre-${c.id}`} type="button" className={ICON_BUTTON} disabled={ci === draft.chapters.length - 1} onClick={() => moveChapter(ci, 1)}>
                    <span aria-hidden="true">↓</span>
                    <span className="sr-only">Descendre le chapitre {ci + 1}</span>
                  </button>
                  <ConfirmDialog
                    trigger={
                      <button type="button" className={`${ICON_BUTTON} text-red-800 dark:text-red-200`}>
                        Supprimer<span className="sr-only"> le chapitre {ci + 1}</span>
                      </button>
                    }
                    title={`Supprimer le chapitre « ${c.title || `Chapitre ${ci + 1}`} » ?`}
                    description={
                      <p>
                        {(c.sections ?? []).length > 0
                          ? `Ses ${(c.sections ?? []).length} section(s) seront supprimées avec lui. `
                          : ""}
                        Le cours n&apos;est modifié qu&apos;à l&apos;enregistrement.
                      </p>
                    }
                    confirmLabel="Supprimer le chapitre"
                    destructive
                    onConfirm={() => deleteChapter(ci)}
                    onCloseAutoFocus={(e) => {
                      e.preventDefault();
                      document.getElementById("plan-titre")?.focus();
                    }}
                  />
                </div>
                <ol className="mt-3 space-y-1">
                  {(c.sections ?? []).map((s, si) => {
                    const first = ci === 0 && si === 0;
                    const last = ci === draft.chapters.length - 1 && si === (c.sections ?? []).length - 1;
                    const isSelected = s.id === selectedId;
                    return (
                      <li key={s.id} className="rounded-md border border-transparent data-selected:border-accent-600 data-selected:bg-accent-50 dark:data-selected:bg-slate-800" data-selected={isSelected ? "" : undefined}>
                        <button
                          type="button"
                          aria-current={isSelected ? "true" : undefined}
                          data-invalid={missingTitles.has(s.id) ? "" : undefined}
                          onClick={() => {
                            setSelectedId(s.id);
                            focusNext.current = ["section-titre-champ"];
                          }}
                          className="w-full rounded-md px-2 py-1.5 text-left text-sm hover:bg-slate-100 aria-[current=true]:font-semibold data-invalid:text-red-800 dark:hover:bg-slate-800 dark:data-invalid:text-red-200"
                        >
                          <span className="sr-only">Modifier la section : </span>
                          {s.title.trim() || "(section sans titre)"}
                          {missingTitles.has(s.id) && <span className="sr-only"> (titre manquant)</span>}
                        </button>
                        <div className="flex flex-wrap gap-1 px-2 pb-1.5">
                          <button id={`monter-${s.id}`} type="button" className={ICON_BUTTON} disabled={first} onClick={() => moveSection(ci, si, -1)}>
                            <span aria-hidden="true">↑</span>
                            <span className="sr-only">Monter la section « {s.title} »</span>
                          </button>
                          <button id={`descendre-${s.id}`} type="button" className={ICON_BUTTON} disabled={last} onClick={() => moveSection(ci, si, 1)}>
                            <span aria-hidden="true">↓</span>
                            <span className="sr-only">Descendre la section « {s.title} »</span>
                          </button>
                          <ConfirmDialog
                            trigger={
                              <button type="button" className={`${ICON_BUTTON} text-red-800 dark:text-red-200`}>
                                Supprimer<span className="sr-only"> la section « {s.title} »</span>
                              </button>
                            }
                            title={`Supprimer la section « ${s.title || "sans titre"} » ?`}
                            description={
                              <p>
                                Son contenu{(s.examples ?? []).length + (s.exercises ?? []).length > 0 ? ", ses exemples et ses exercices" : ""} seront perdus.
                                {course.isPublished ? " La progression des élèves sur cette section ne comptera plus." : ""} Le cours n&apos;est modifié qu&apos;à
                                l&apos;enregistrement.
                              </p>
                            }
                            confirmLabel="Supprimer la section"
                            destructive
                            onConfirm={() => deleteSection(s.id)}
                            onCloseAutoFocus={(e) => {
                              e.preventDefault();
                              document.getElementById("plan-titre")?.focus();
                            }}
                          />
                        </div>
                      </li>
                    );
                  })}
                </ol>
                <button type="button" className={`${SECONDARY} mt-2 w-full text-sm`} onClick={() => addSection(ci)}>
                  Ajouter une section<span className="sr-only"> au chapitre {ci + 1}</span>
                </button>
              </li>
            ))}
          </ol>
          <button type="button" className={`${SECONDARY} mt-3 w-full`} onClick={addChapter}>
            Ajouter un chapitre
          </button>
        </section>

        {selected ? (
          <>
            <section aria-labelledby="section-edit-titre" className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
              <h2 id="section-edit-titre" className="mb-3 text-lg font-semibold">
                Section
              </h2>
              <div className="space-y-4">
                <Field
                  id="section-titre-champ"
                  label="Titre de la section"
                  value={selected.section.title}
                  maxLength={200}
                  onChange={(e) => updateSection(selected.section.id, { title: e.target.value })}
                  error={missingTitles.has(selected.section.id) ? "Donnez un titre à la section." : undefined}
                />
                <MarkdownEditor
                  key={selected.section.id}
                  id="section-contenu"
                  label="Contenu de la section (Markdown)"
                  value={selected.section.content ?? ""}
                  onChange={(content) => updateSection(selected.section.id, { content })}
                />
                <SectionExtras
                  key={`extras-${selected.section.id}`}
                  section={selected.section}
                  onChange={(patch) => updateSection(selected.section.id, patch)}
                  invalidQuestions={!!errors.content}
                />
              </div>
            </section>
            <Preview section={selected.section} chapter={selected.chapter} chapterIndex={selected.chapterIndex} />
          </>
        ) : (
          <section aria-labelledby="section-edit-titre" className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm xl:col-span-2 dark:border-slate-800 dark:bg-slate-900">
            <h2 id="section-edit-titre" className="mb-2 text-lg font-semibold">
              Section
            </h2>
            <p className="text-slate-700 dark:text-slate-300">
              {sections.length === 0 ? "Ajoutez une section à un chapitre pour écrire son contenu." : "Choisissez une section dans le plan pour la modifier."}
            </p>
          </section>
        )}
      </div>

      <div className="grid items-start gap-6 lg:grid-cols-[2fr_1fr]">
        <Classes courseId={courseId} published={course.isPublished} enabled={allowed} />
        <Card title="Supprimer le cours" id="supprimer">
          <p className="mb-3 text-slate-700 dark:text-slate-300">La progression des élèves et les attributions aux classes sont supprimées avec lui.</p>
          <ConfirmDialog
            trigger={
              <button type="button" className="rounded-md border border-red-700 px-4 py-2 font-medium text-red-800 hover:bg-red-50 dark:text-red-200 dark:hover:bg-red-950">
                Supprimer le cours
              </button>
            }
            title={`Supprimer « ${course.title} » ?`}
            description="Le cours, la progression des élèves et ses attributions aux classes seront supprimés. C'est définitif."
            confirmLabel="Supprimer définitivement"
            destructive
            onConfirm={onDelete}
          />
        </Card>
      </div>
    </div>
  );
}

function BackLink() {
  return (
    <Link href="/enseignant/cours" className="text-sm text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
      ← Mes cours
    </Link>
  );
}

/** The section as students will read it (the reader's own component), as it is typed. */
function Preview({ section, chapter, chapterIndex }: { section: Section; chapter: Chapter; chapterIndex: number }) {
  const shown = useDeferredValue(section);
  return (
    <section aria-labelledby="apercu-titre" className="min-w-0 lg:col-start-2 xl:col-start-auto" data-testid="preview">
      <h2 id="apercu-titre" className="mb-1 text-lg font-semibold">
        Aperçu
      </h2>
      <p className="mb-3 text-sm text-slate-700 dark:text-slate-300">Tel que les élèves le verront, mis à jour pendant la saisie.</p>
      <div className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6 dark:border-slate-800 dark:bg-slate-900">
        <p className="text-sm text-slate-700 dark:text-slate-300">
          Chapitre {chapterIndex + 1} · {chapter.title}
        </p>
        <h3 className="mt-1 text-xl font-bold">{shown.title}</h3>
        <SectionBody section={shown} level={3} />
      </div>
    </section>
  );
}

type ClassRow = { cls: Schemas["ClassView"]; assigned: boolean };

/** The teacher's active classes, whether the course is assigned to each; assign, withdraw. */
function Classes({ courseId, published, enabled }: { courseId: number; published: boolean; enabled: boolean }) {
  const [version, setVersion] = useState(0);
  const { data, error } = useLoader(
    enabled,
    async () => {
      const classes = await api.GET("/api/classes", { params: { query: { limit: 100 } } });
      if (!classes.data) return classes;
      const active = classes.data.classes.filter((c) => !c.archived);
      // The API lists a class's courses, not a course's classes: one call per class.
      const lists = await Promise.all(active.map((c) => api.GET("/api/courses", { params: { query: { classId: c.id, mine: true, limit: 100 } } })));
      const failed = lists.find((l) => !l.data);
      if (failed) return failed;
      const rows: ClassRow[] = active.map((cls, i) => ({ cls, assigned: !!lists[i]!.data!.courses.some((x) => x.id === courseId) }));
      return { data: rows };
    },
    version,
  );
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [pending, setPending] = useState<number | null>(null);

  async function toggle(row: ClassRow) {
    setPending(row.cls.id);
    setMessage(null);
    setFailure(null);
    const res = row.assigned
      ? await api.DELETE("/api/courses/{id}/classes/{classId}", { params: { path: { id: courseId, classId: row.cls.id } } })
      : await api.POST("/api/courses/{id}/classes", { params: { path: { id: courseId } }, body: { classId: row.cls.id } });
    setPending(null);
    if (res.data) {
      setMessage(row.assigned ? `Cours retiré de ${row.cls.name}.` : `Cours attribué à ${row.cls.name}.`);
      setVersion((v) => v + 1);
    } else setFailure(errorMessage(res.error));
  }

  return (
    <Card title="Classes" id="classes">
      <p className="mb-3 text-slate-700 dark:text-slate-300">
        {published
          ? "Les élèves d'une classe à laquelle vous attribuez le cours sont prévenus."
          : "Vous pouvez déjà l'attribuer : les élèves ne le verront qu'une fois le cours publié."}
      </p>
      <div className="space-y-2">
        <ErrorAlert message={failure ?? error} />
        <SuccessNote message={message} />
      </div>
      {!data && !error ? (
        <Loading />
      ) : data && data.length === 0 ? (
        <p className="text-slate-700 dark:text-slate-300">
          Aucune classe active.{" "}
          <Link href="/enseignant" className="text-accent-700 underline dark:text-accent-100">
            Créer une classe
          </Link>
        </p>
      ) : (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="course-classes">
          {(data ?? []).map((row) => (
            <li key={row.cls.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
              <div>
                <p className="font-medium">{row.cls.name}</p>
                <p className="text-sm text-slate-700 dark:text-slate-300">{row.assigned ? "Cours attribué" : "Non attribué"}</p>
              </div>
              <button type="button" className={SECONDARY} disabled={pending !== null} onClick={() => void toggle(row)}>
                {row.assigned ? "Retirer" : "Attribuer"}
                <span className="sr-only">
                  {" "}
                  {row.assigned ? "de" : "à"} {row.cls.name}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
