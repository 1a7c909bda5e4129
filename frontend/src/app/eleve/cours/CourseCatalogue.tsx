"use client";

import Link from "next/link";
import { useId, useState } from "react";
import { api } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { CATEGORIES, categoryLabel, duration } from "@/lib/courses";
import { CLASS_LEVELS, classLevelOf, type ClassLevel } from "@/lib/format";
import { useRequireRole } from "@/components/session";
import { useNotifications } from "@/components/notifications";
import { Button, ErrorAlert, Loading, ProgressBar } from "@/components/ui";

const STUDENT = ["student"];
const PAGE_SIZE = 10;

const selectClass =
  "rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100";

export function CourseCatalogue() {
  const { allowed, user } = useRequireRole(STUDENT);
  const { revision } = useNotifications();
  const [filters, setFilters] = useState<{ level: ClassLevel | ""; category: string; q: string; page: number }>({ level: "", category: "", q: "", page: 1 });
  const { data, error } = useLoader(
    allowed,
    () =>
      api.GET("/api/courses", {
        params: {
          query: {
            level: filters.level || undefined,
            category: filters.category || undefined,
            q: filters.q || undefined,
            page: filters.page,
            limit: PAGE_SIZE,
          },
        },
      }),
    JSON.stringify(filters),
  );
  const { data: progress } = useLoader(
    allowed && !!user,
    () => api.GET("/api/students/{id}/progress", { params: { path: { id: user!.id } } }),
    revision,
  );
  const progressOf = new Map((progress?.courses ?? []).map((p) => [p.courseId, p]));
  const ids = useId();

  function onSearch(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const q = String(new FormData(e.currentTarget).get("q") ?? "").trim();
    setFilters((f) => ({ ...f, q, page: 1 }));
  }

  if (!allowed) return <Loading />;
  const pagination = data?.pagination;
  const filtered = filters.level || filters.category || filters.q;
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Mes cours</h1>
        <p className="text-slate-700 dark:text-slate-300">Le programme de NSI, chapitre par chapitre. Reprenez là où vous vous êtes arrêté.</p>
      </div>

      <div className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <form onSubmit={onSearch} className="grid gap-3 sm:grid-cols-[1fr_auto]" role="search">
          <div className="flex flex-col gap-1">
            <label htmlFor={`${ids}-q`} className="font-medium">
              Rechercher un cours
            </label>
            <input
              id={`${ids}-q`}
              name="q"
              type="search"
              defaultValue={filters.q}
              placeholder="ex. : récursivité, dichotomie, SQL"
              className="rounded-md border border-slate-400 bg-white px-3 py-2 text-slate-900 dark:border-slate-600 dark:bg-slate-950 dark:text-slate-100"
            />
          </div>
          <Button type="submit" className="self-end">
            Rechercher
          </Button>
        </form>
        <div className="mt-3 grid gap-3 sm:grid-cols-2">
          <div className="flex flex-col gap-1">
            <label htmlFor={`${ids}-niveau`} className="font-medium">
              Niveau
            </label>
            <select
              id={`${ids}-niveau`}
              value={filters.level}
              onChange={(e) => setFilters((f) => ({ ...f, level: classLevelOf(e.target.value) ?? "", page: 1 }))}
              className={selectClass}
            >
              <option value="">Tous les niveaux</option>
              {Object.entries(CLASS_LEVELS).map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </div>
          <div className="flex flex-col gap-1">
            <label htmlFor={`${ids}-categorie`} className="font-medium">
              Thème
            </label>
            <select
              id={`${ids}-categorie`}
              value={filters.category}
              onChange={(e) => setFilters((f) => ({ ...f, category: e.target.value, page: 1 }))}
              className={selectClass}
            >
              <option value="">Tous les thèmes</option>
              {Object.entries(CATEGORIES).map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>

      <ErrorAlert message={error} />
      <section aria-labelledby="catalogue-titre" aria-busy={!data && !error}>
        <h2 id="catalogue-titre" className="sr-only">
          Cours
        </h2>
        <p role="status" className="mb-3 text-slate-700 dark:text-slate-300">
          {pagination
            ? pagination.total === 0
              ? filtered
                ? "Aucun cours ne correspond à votre recherche."
                : "Aucun cours publié pour l'instant."
              : `${pagination.total} cours${filters.q ? ` pour « ${filters.q} »` : ""}`
            : ""}
        </p>
        {!data && !error && <Loading />}
        {data && data.courses.length > 0 && (
          <ul className="grid gap-4 md:grid-cols-2" data-testid="course-list">
            {data.courses.map((c) => {
              const p = progressOf.get(c.id);
              return (
                <li key={c.id} className="flex flex-col rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                  <h3 className="text-lg font-semibold">
                    <Link href={`/eleve/cours/${c.id}`} className="text-accent-800 underline-offset-2 hover:underline dark:text-accent-100">
                      {c.title}
                    </Link>
                  </h3>
                  <p className="mt-1 flex flex-wrap gap-2 text-sm">
                    <span className="rounded-full bg-slate-100 px-2 py-0.5 text-slate-800 dark:bg-slate-800 dark:text-slate-100">{CLASS_LEVELS[c.level]}</span>
                    {c.category && (
                      <span className="rounded-full bg-accent-50 px-2 py-0.5 text-accent-800 dark:bg-slate-800 dark:text-accent-100">{categoryLabel(c.category)}</span>
                    )}
                    {c.duration ? <span className="px-1 py-0.5 text-slate-700 dark:text-slate-300">{duration(c.duration)}</span> : null}
                  </p>
                  {c.description && <p className="mt-2 line-clamp-3 text-slate-700 dark:text-slate-300">{c.description}</p>}
                  <div className="mt-auto pt-3">
                    {p ? (
                      <>
                        <p className="mb-1 flex justify-between text-sm text-slate-700 dark:text-slate-300">
                          <span>{p.completedAt ? "Terminé" : "Commencé"}</span>
                          <span>{p.progressPercentage} %</span>
                        </p>
                        <ProgressBar value={p.progressPercentage} label={`Progression : ${c.title}`} />
                      </>
                    ) : (
                      <p className="text-sm text-slate-600 dark:text-slate-300">Pas encore commencé</p>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
        )}
      </section>

      {pagination && pagination.pages > 1 && (
        <nav aria-label="Pages" className="flex items-center justify-center gap-3">
          <button
            type="button"
            disabled={filters.page <= 1}
            onClick={() => setFilters((f) => ({ ...f, page: f.page - 1 }))}
            className="rounded-md border border-slate-400 px-3 py-2 text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50 dark:text-slate-100 dark:hover:bg-slate-800"
          >
            <span aria-hidden="true">← </span>Précédente<span className="sr-only"> (page)</span>
          </button>
          <span className="text-slate-700 dark:text-slate-300">
            Page {pagination.page} sur {pagination.pages}
          </span>
          <button
            type="button"
            disabled={filters.page >= pagination.pages}
            onClick={() => setFilters((f) => ({ ...f, page: f.page + 1 }))}
            className="rounded-md border border-slate-400 px-3 py-2 text-slate-800 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50 dark:text-slate-100 dark:hover:bg-slate-800"
          >
            Suivante<span className="sr-only"> (page)</span>
            <span aria-hidden="true"> →</span>
          </button>
        </nav>
      )}
    </div>
  );
}
