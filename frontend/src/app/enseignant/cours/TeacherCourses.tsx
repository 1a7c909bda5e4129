"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { api, errorMessage, fieldErrors, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CATEGORIES, categoryLabel, duration } from "@/lib/courses";
import { CLASS_LEVELS, classLevelOf } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { Button, Card, ErrorAlert, Field, LabelledSelect, Loading } from "@/components/ui";

const TEACHER = ["teacher"];
const PAGE_SIZE = 50;

/** The teacher's own courses, drafts and published, and a new course. */
export function TeacherCourses() {
  const { allowed } = useRequireRole(TEACHER);
  const [page, setPage] = useState(1);
  const { data, error } = useLoader(allowed, () => api.GET("/api/courses", { params: { query: { mine: true, page, limit: PAGE_SIZE } } }), page);

  if (!allowed) return <Loading />;
  const drafts = data?.courses.filter((c) => !c.isPublished) ?? [];
  const published = data?.courses.filter((c) => c.isPublished) ?? [];
  const pagination = data?.pagination;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Mes cours</h1>
        <p className="text-slate-700 dark:text-slate-300">
          Les cours que vous avez écrits. Un brouillon n&apos;est visible que de vous ; un cours publié l&apos;est des élèves des classes auxquelles
          vous l&apos;attribuez, et du catalogue.
        </p>
      </div>
      <ErrorAlert message={error} />
      <div className="grid items-start gap-6 lg:grid-cols-[2fr_1fr]">
        <div className="space-y-6">
          <Card title="Brouillons" id="brouillons">
            {!data && !error ? <Loading /> : drafts.length === 0 ? <Empty text="Aucun brouillon." /> : <CourseList courses={drafts} />}
          </Card>
          <Card title="Cours publiés" id="publies">
            {!data && !error ? <Loading /> : published.length === 0 ? <Empty text="Aucun cours publié pour l'instant." /> : <CourseList courses={published} />}
          </Card>
          {pagination && pagination.pages > 1 && (
            <nav aria-label="Pages" className="flex items-center justify-between gap-3">
              <button type="button" onClick={() => setPage((p) => p - 1)} disabled={page <= 1} className="rounded-md border border-slate-400 px-3 py-2 disabled:opacity-50">
                Page précédente
              </button>
              <span>
                Page {pagination.page} sur {pagination.pages}
              </span>
              <button type="button" onClick={() => setPage((p) => p + 1)} disabled={page >= pagination.pages} className="rounded-md border border-slate-400 px-3 py-2 disabled:opacity-50">
                Page suivante
              </button>
            </nav>
          )}
        </div>
        <NewCourse />
      </div>
    </div>
  );
}

function Empty({ text }: { text: string }) {
  return <p className="text-slate-700 dark:text-slate-300">{text}</p>;
}

function CourseList({ courses }: { courses: Schemas["CourseSummary"][] }) {
  return (
    <ul className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="course-list">
      {courses.map((c) => (
        <li key={c.id} className="py-3">
          <Link href={`/enseignant/cours/${c.id}`} className="font-medium text-accent-700 underline-offset-2 hover:underline dark:text-accent-100">
            {c.title}
          </Link>
          <p className="text-sm text-slate-600 dark:text-slate-300">
            {[CLASS_LEVELS[c.level], categoryLabel(c.category), duration(c.duration)].filter(Boolean).join(" · ")}
          </p>
        </li>
      ))}
    </ul>
  );
}

function NewCourse() {
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const description = String(f.get("description") ?? "").trim();
    const body = {
      title: String(f.get("title") ?? ""),
      level: classLevelOf(f.get("level")) ?? "terminale",
      category: String(f.get("category") ?? "") || null,
      description: description || null,
      content: { chapters: [] },
    };
    setBusy(true);
    setError(null);
    setErrors({});
    const { data, error: apiError } = await api.POST("/api/courses", { body });
    if (data) {
      router.push(`/enseignant/cours/${data.course.id}`);
      return;
    }
    setBusy(false);
    setErrors(fieldErrors(apiError));
    setError(errorMessage(apiError));
  }

  return (
    <Card title="Nouveau cours" id="nouveau-cours">
      <form onSubmit={onSubmit} className="flex flex-col gap-3" noValidate>
        <p className="text-sm text-slate-700 dark:text-slate-300">Il commence en brouillon : vous écrirez ses chapitres ensuite.</p>
        <ErrorAlert message={error} />
        <Field id="cours-titre" name="title" label="Titre du cours" error={errors.title} required maxLength={200} />
        <LabelledSelect id="cours-niveau" name="level" label="Niveau" defaultValue="terminale" error={errors.level}>
          {Object.entries(CLASS_LEVELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </LabelledSelect>
        <LabelledSelect id="cours-theme" name="category" label="Thème" defaultValue="" error={errors.category}>
          <option value="">Aucun</option>
          {Object.entries(CATEGORIES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </LabelledSelect>
        <Field id="cours-description" name="description" label="Résumé (facultatif)" error={errors.description} maxLength={5000} />
        <Button type="submit" disabled={busy}>
          {busy ? "Création…" : "Créer le cours"}
        </Button>
      </form>
    </Card>
  );
}
