"use client";

import Link from "next/link";
import dynamic from "next/dynamic";
import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { api, errorMessage, type Schemas } from "@/lib/api/client";
import { useLoader } from "@/lib/useLoader";
import { onCourse } from "@/lib/hub/presence";
import { usePresence, useReportActivity } from "@/components/presence";
import { categoryLabel, duration } from "@/lib/courses";
import { CLASS_LEVELS } from "@/lib/format";
import { SectionBody } from "@/components/SectionBody";
import { useRequireRole } from "@/components/session";
import { Button, ErrorAlert, Loading, ProgressBar } from "@/components/ui";
import type { Channel } from "@/lib/ws-protocol";

const STUDENT = ["student"];

// ARIA's panel is loaded after the page (its code is not in the reader's first load).
const AriaPanel = dynamic(() => import("./AriaPanel"), { ssr: false, loading: () => null });

// "#section-<id>" in the URL (a link into a section), kept in sync with the address bar.
function subscribeHash(fn: () => void) {
  window.addEventListener("hashchange", fn);
  return () => window.removeEventListener("hashchange", fn);
}
const hashSection = () => /^#section-(.+)$/.exec(window.location.hash)?.[1] ?? null;

/** "2 camarades de ta classe sur ce cours" — from the class's presence; nothing when none. */
function ClassmatesHere({ channel, courseId, me }: { channel: Channel; courseId: number; me: number }) {
  const here = onCourse(usePresence(channel, me), courseId);
  if (here === 0) return null;
  return (
    <p className="mt-2 flex items-center gap-1.5 text-sm text-slate-700 dark:text-slate-300" data-testid="classmates-here">
      <span aria-hidden="true" className="h-2.5 w-2.5 rounded-full bg-emerald-600" />
      {here} camarade{here > 1 ? "s" : ""} de ta classe sur ce cours en ce moment
    </p>
  );
}

type Section = Schemas["Section"];
type FlatSection = Section & { chapterTitle: string; chapterIndex: number; index: number };

export function CourseReader({ id }: { id: string }) {
  const courseId = Number(id);
  const valid = Number.isInteger(courseId) && courseId > 0;
  const { allowed, user } = useRequireRole(STUDENT);
  const { data: course, error: loadError } = useLoader(allowed && valid, () => api.GET("/api/courses/{id}", { params: { path: { id: courseId } } }));
  const { data: progress, error: progressError } = useLoader(allowed && !!user, () =>
    api.GET("/api/students/{id}/progress", { params: { path: { id: user!.id } } }),
  );

  const sections: FlatSection[] = useMemo(
    () =>
      (course?.content.chapters ?? []).flatMap((ch, chapterIndex) =>
        (ch.sections ?? []).map((s) => ({ ...s, chapterTitle: ch.title, chapterIndex, index: 0 })),
      ).map((s, index) => ({ ...s, index })),
    [course],
  );

  // Completed sections: the server's list until a change is made here (optimistic, then
  // the list the API answers).
  const [changed, setChanged] = useState<Set<string> | null>(null);
  // The section chosen here, and the section asked for in the URL when it was chosen:
  // a newer link (?section=… or #section-…) wins over it.
  const [chosen, setChosen] = useState<{ id: string; under: string | null } | null>(null);
  const searchParams = useSearchParams();
  const hash = useSyncExternalStore(subscribeHash, hashSection, () => null);
  const hashId = hash ? safeDecode(hash) : null;
  const asked = searchParams.get("section") ?? hashId;
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [tocOpen, setTocOpen] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Bumped when a section is chosen: its title then gets the focus (even when it is the
  // section already shown — on a phone the list closes, and the focus must not be lost).
  const [focusTick, setFocusTick] = useState(0);

  const loaded = useMemo(() => {
    if (!course || !progress) return null;
    const mine = progress.courses.find((p) => p.courseId === course.id);
    const done = new Set(mine?.completedSections ?? []);
    // Resume at the first section not completed (the first one when all are, or none is).
    const resume = (sections.find((s) => !done.has(s.id)) ?? sections[0])?.id ?? null;
    return { done, resume };
  }, [course, progress, sections]);
  const completed = changed ?? loaded?.done ?? null;
  const askedValid = asked && sections.some((s) => s.id === asked) ? asked : null;
  const current = (chosen && chosen.under === asked ? chosen.id : null) ?? askedValid ?? loaded?.resume ?? null;

  // The student's classes: they are online there while reading, classmates on this course
  // are shown, and the teacher's live view learns which section is open.
  const { data: classes } = useLoader(allowed, () => api.GET("/api/classes", { params: { query: { limit: 100 } } }));
  const classChannels = useMemo(
    () => (classes?.classes ?? []).filter((c) => !c.archived).map((c): Channel => `class:${c.id}`),
    [classes],
  );
  useReportActivity(classChannels, course ? courseId : null, course ? current : null);

  // After choosing a section, bring its title into view and give it the focus.
  useEffect(() => {
    if (focusTick === 0) return;
    headingRef.current?.focus();
    headingRef.current?.scrollIntoView({ block: "start" });
  }, [focusTick]);

  // Arriving through a link to a section (an ARIA source): its title gets the focus.
  const ready = !!course && !!completed;
  useEffect(() => {
    if (!ready || !askedValid) return;
    headingRef.current?.focus();
    headingRef.current?.scrollIntoView({ block: "start" });
  }, [ready, askedValid]);

  const open = useCallback(
    (sectionId: string) => {
      setFocusTick((t) => t + 1);
      setSaveError(null);
      setTocOpen(false);
      setChosen({ id: sectionId, under: asked });
    },
    [asked],
  );

  if (!allowed) return <Loading />;
  if (!valid) return <ErrorAlert message="Ce cours n'existe pas." />;
  if (loadError || (progressError && !progress))
    return (
      <div className="space-y-4">
        <ErrorAlert message={loadError ?? progressError} />
        <BackLink />
      </div>
    );
  if (!course || !completed) return <Loading />;

  const section = sections.find((s) => s.id === current) ?? sections[0];
  const doneCount = sections.filter((s) => completed.has(s.id)).length;
  const percent = sections.length ? Math.floor((doneCount / sections.length) * 100) : 0;
  const next = section ? sections[section.index + 1] : undefined;
  const prev = section ? sections[section.index - 1] : undefined;
  const isDone = section ? completed.has(section.id) : false;

  async function toggleDone() {
    if (!section || saving) return;
    const target = !isDone;
    const before = completed!;
    const after = new Set(before);
    if (target) after.add(section.id);
    else after.delete(section.id);
    setChanged(after);
    setSaveError(null);
    setSaving(true);
    const { data, error } = await api.PUT("/api/courses/{id}/progress", {
      params: { path: { id: courseId } },
      body: { sectionId: section.id, sectionCompleted: target },
    });
    setSaving(false);
    if (data) setChanged(new Set(data.progress.completedSections));
    else {
      setChanged(before);
      setSaveError(errorMessage(error));
    }
  }

  return (
    // On wide screens (xl) the reader is wider than the other pages, to hold ARIA's
    // column beside the section; below, room at the bottom for the "Demander à ARIA" button.
    <div className="space-y-6 pb-16 xl:relative xl:pb-0 xl:left-1/2 xl:w-[min(90rem,calc(100vw-3rem))] xl:-translate-x-1/2">
      <div>
        <BackLink />
        <h1 className="mt-2 text-2xl font-bold">{course.title}</h1>
        <p className="mt-1 flex flex-wrap gap-x-3 text-sm text-slate-700 dark:text-slate-300">
          <span>{CLASS_LEVELS[course.level]}</span>
          {course.category && <span>{categoryLabel(course.category)}</span>}
          {course.estimatedTime ? <span>{duration(course.estimatedTime)}</span> : null}
        </p>
        {user &&
          classChannels.map((channel) => <ClassmatesHere key={channel} channel={channel} courseId={courseId} me={user.id} />)}
        <div className="mt-3 max-w-md">
          <p className="mb-1 flex justify-between text-sm text-slate-700 dark:text-slate-300">
            <span>
              {doneCount} section{doneCount > 1 ? "s" : ""} terminée{doneCount > 1 ? "s" : ""} sur {sections.length}
            </span>
            <span data-testid="course-progress">{percent} %</span>
          </p>
          <ProgressBar value={percent} label="Progression dans le cours" />
        </div>
      </div>

      {sections.length === 0 ? (
        <p>Ce cours n&apos;a pas encore de contenu.</p>
      ) : (
        <div className="grid items-start gap-6 md:grid-cols-[16rem_minmax(0,1fr)] xl:grid-cols-[15rem_minmax(0,1fr)_25rem]">
          <nav aria-label="Sommaire du cours" className="rounded-xl border border-slate-200 bg-white p-3 shadow-sm md:sticky md:top-4 dark:border-slate-800 dark:bg-slate-900">
            <button
              type="button"
              aria-expanded={tocOpen}
              aria-controls="sommaire-liste"
              onClick={() => setTocOpen((o) => !o)}
              className="flex w-full items-center justify-between rounded-md px-2 py-2 text-left font-semibold hover:bg-slate-100 md:hidden dark:hover:bg-slate-800"
            >
              <span>
                Sommaire <span className="font-normal text-slate-700 dark:text-slate-300">· {section?.title}</span>
              </span>
              <span aria-hidden="true">{tocOpen ? "▴" : "▾"}</span>
            </button>
            <p className="hidden px-2 pb-1 font-semibold md:block">Sommaire</p>
            <ol id="sommaire-liste" className={`${tocOpen ? "block" : "hidden"} mt-2 space-y-3 md:mt-0 md:block`}>
              {course.content.chapters.map((ch, ci) => (
                <li key={ch.id}>
                  <p className="px-2 text-sm font-semibold text-slate-700 dark:text-slate-300">
                    {ci + 1}. {ch.title}
                  </p>
                  <ol className="mt-1 space-y-0.5">
                    {(ch.sections ?? []).map((s) => {
                      const done = completed.has(s.id);
                      const here = s.id === section?.id;
                      return (
                        <li key={s.id}>
                          <button
                            type="button"
                            onClick={() => open(s.id)}
                            aria-current={here ? "step" : undefined}
                            className="flex w-full items-start gap-2 rounded-md px-2 py-1.5 text-left text-sm hover:bg-slate-100 aria-[current=step]:bg-accent-50 aria-[current=step]:font-semibold aria-[current=step]:text-accent-800 dark:hover:bg-slate-800 dark:aria-[current=step]:bg-slate-800 dark:aria-[current=step]:text-accent-100"
                          >
                            <span aria-hidden="true" className={`mt-0.5 inline-block w-4 shrink-0 ${done ? "text-emerald-700 dark:text-emerald-300" : "text-slate-500 dark:text-slate-400"}`}>
                              {done ? "✓" : "○"}
                            </span>
                            <span>
                              {s.title}
                              {done && <span className="sr-only"> (terminée)</span>}
                            </span>
                          </button>
                        </li>
                      );
                    })}
                  </ol>
                </li>
              ))}
            </ol>
          </nav>

          {section && (
            <article aria-labelledby="section-titre" className="min-w-0 rounded-xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6 dark:border-slate-800 dark:bg-slate-900">
              <p className="text-sm text-slate-700 dark:text-slate-300">
                Chapitre {section.chapterIndex + 1} · {section.chapterTitle}
              </p>
              <h2 id="section-titre" ref={headingRef} tabIndex={-1} className="mt-1 scroll-mt-4 text-xl font-bold">
                {section.title}
                {isDone && <span className="ml-2 align-middle text-sm font-medium text-emerald-800 dark:text-emerald-300">· Terminée</span>}
              </h2>
              <SectionBody section={section} />

              <div className="mt-8 space-y-3 border-t border-slate-200 pt-5 dark:border-slate-700">
                <ErrorAlert message={saveError} />
                <div className="flex flex-wrap items-center gap-3">
                  <Button type="button" onClick={() => void toggleDone()} disabled={saving}>
                    {isDone ? "Marquer comme non terminé" : "Marquer comme terminé"}
                  </Button>
                  <span className="flex-1" />
                  {prev && (
                    <button
                      type="button"
                      onClick={() => open(prev.id)}
                      className="rounded-md border border-slate-400 px-3 py-2 text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800"
                    >
                      ← Section précédente
                    </button>
                  )}
                  {next && (
                    <button
                      type="button"
                      onClick={() => open(next.id)}
                      className="rounded-md border border-slate-400 px-3 py-2 text-slate-800 hover:bg-slate-100 dark:text-slate-100 dark:hover:bg-slate-800"
                    >
                      Section suivante →
                    </button>
                  )}
                </div>
              </div>
            </article>
          )}
          <AriaPanel courseId={course.id} level={course.level} sectionTitle={section?.title ?? null} openSection={open} />
        </div>
      )}
    </div>
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function BackLink() {
  return (
    <Link href="/eleve/cours" className="text-sm text-accent-800 underline underline-offset-2 dark:text-accent-100">
      ← Tous les cours
    </Link>
  );
}
