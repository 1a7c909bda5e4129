// A course section as students read it: the lesson's Markdown, its examples (code as
// Python) and exercises (hint and solution behind <details>). Shared by the course
// reader and the teacher's live preview, so the preview is what students will see.
import { Markdown } from "@/lib/markdown";
import { CodeBlock } from "@/lib/highlight";
import type { Schemas } from "@/lib/api/client";

type Level = 2 | 3;

/** `level`: the heading level of the section's title (the reader's h2; the preview's h3). */
export function SectionBody({ section, level = 2 }: { section: Schemas["Section"]; level?: Level }) {
  const Sub = `h${level + 1}` as "h3";
  const Item = `h${level + 2}` as "h4";
  const examples = section.examples ?? [];
  const exercises = section.exercises ?? [];
  return (
    <>
      <div className="mt-2">
        <Markdown source={section.content ?? ""} headingOffset={level} />
      </div>

      {examples.length > 0 && (
        <section aria-labelledby="exemples-titre" className="mt-8">
          <Sub id="exemples-titre" className="text-lg font-semibold">
            Exemples
          </Sub>
          {examples.map((ex, i) => (
            <div key={i} className="mt-4">
              {ex.title && <Item className="font-semibold">{ex.title}</Item>}
              {ex.code && <CodeBlock code={ex.code} lang="python" />}
              {ex.explanation && <Markdown source={ex.explanation} headingOffset={level + 2} />}
            </div>
          ))}
        </section>
      )}

      {exercises.length > 0 && (
        <section aria-labelledby="exercices-titre" className="mt-8">
          <Sub id="exercices-titre" className="text-lg font-semibold">
            Exercices
          </Sub>
          <ol className="mt-3 space-y-4">
            {exercises.map((ex, i) => (
              <li key={i} className="rounded-lg border border-slate-200 p-4 dark:border-slate-700">
                <p className="font-semibold">Exercice {i + 1}</p>
                <Markdown source={ex.question} headingOffset={level + 2} />
                {ex.hint && (
                  <details className="mt-2">
                    <summary className="cursor-pointer font-medium text-accent-800 dark:text-accent-100">Indice</summary>
                    <div className="mt-1 pl-4">
                      <Markdown source={ex.hint} headingOffset={level + 2} />
                    </div>
                  </details>
                )}
                {ex.solution && (
                  <details className="mt-2">
                    <summary className="cursor-pointer font-medium text-accent-800 dark:text-accent-100">Solution</summary>
                    <div className="mt-1 pl-4">
                      <Markdown source={ex.solution} headingOffset={level + 2} />
                    </div>
                  </details>
                )}
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}
