// Small charts drawn as SVG (no chart library: a few hundred bytes, nothing for the CSP
// to allow). Each chart is a <figure> whose picture is hidden from screen readers and
// whose data is also given as a table they read (visually hidden).
import { formatDate, formatNumber, formatShortDate } from "@/lib/format";

export type ScorePoint = { date: string; on20: number; label: string };

const W = 600;
const H = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 28 };

/** Where x (0..n-1) and a grade on 20 land in the picture. */
export function scoreLayout(n: number): { x: (i: number) => number; y: (v: number) => number } {
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  return {
    x: (i) => PAD.left + (n <= 1 ? innerW / 2 : (i * innerW) / (n - 1)),
    y: (v) => PAD.top + innerH - (Math.max(0, Math.min(20, v)) / 20) * innerH,
  };
}

/** Grades on 20 over time, oldest first, with the 10/20 line. */
export function ScoreChart({ points, caption, id }: { points: ScorePoint[]; caption: string; id: string }) {
  const { x, y } = scoreLayout(points.length);
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.on20).toFixed(1)}`).join(" ");
  return (
    <figure aria-labelledby={`${id}-legende`} className="flex flex-col gap-2">
      <figcaption id={`${id}-legende`} className="text-sm text-slate-700 dark:text-slate-300">
        {caption}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" aria-hidden="true" focusable="false">
        {[0, 5, 10, 15, 20].map((v) => (
          <g key={v}>
            <line
              x1={PAD.left}
              x2={W - PAD.right}
              y1={y(v)}
              y2={y(v)}
              className={v === 10 ? "stroke-slate-500" : "stroke-slate-200 dark:stroke-slate-700"}
              strokeDasharray={v === 10 ? "4 4" : undefined}
            />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="fill-slate-600 text-[13px] dark:fill-slate-300">
              {v}
            </text>
          </g>
        ))}
        {points.length > 1 && <path d={path} fill="none" className="stroke-accent-600" strokeWidth={2.5} />}
        {points.map((p, i) => (
          <g key={i}>
            <circle cx={x(i)} cy={y(p.on20)} r={4.5} className="fill-accent-700 stroke-white dark:stroke-slate-900" strokeWidth={1.5} />
            {(points.length <= 6 || i === 0 || i === points.length - 1) && (
              <text
                x={x(i)}
                y={H - 8}
                // The first and last dates stay inside the picture.
                textAnchor={points.length > 1 && i === 0 ? "start" : points.length > 1 && i === points.length - 1 ? "end" : "middle"}
                className="fill-slate-600 text-[13px] dark:fill-slate-300"
              >
                {formatShortDate(p.date)}
              </text>
            )}
          </g>
        ))}
      </svg>
      <table className="sr-only">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Évaluation</th>
            <th scope="col">Date</th>
            <th scope="col">Note sur 20</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p, i) => (
            <tr key={i}>
              <td>{p.label}</td>
              <td>{formatDate(p.date)}</td>
              <td>{formatNumber(p.on20)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export type Bar = { label: string; value: number };

/** Vertical bars (counts), e.g. sections completed per week. */
export function BarChart({
  bars,
  caption,
  id,
  unit,
  labelHeader = "Période",
}: {
  bars: Bar[];
  caption: string;
  id: string;
  unit: string;
  /** The heading of the labels' column in the table screen readers read. */
  labelHeader?: string;
}) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(1, bars.length);
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const ticks = max <= 4 ? Array.from({ length: max + 1 }, (_, i) => i) : [0, Math.round(max / 2), max];
  return (
    <figure aria-labelledby={`${id}-legende`} className="flex flex-col gap-2">
      <figcaption id={`${id}-legende`} className="text-sm text-slate-700 dark:text-slate-300">
        {caption}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" aria-hidden="true" focusable="false">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="stroke-slate-200 dark:stroke-slate-700" />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="fill-slate-600 text-[13px] dark:fill-slate-300">
              {v}
            </text>
          </g>
        ))}
        {bars.map((b, i) => (
          <g key={i}>
            <rect
              x={PAD.left + i * slot + slot * 0.2}
              y={y(b.value)}
              width={slot * 0.6}
              height={Math.max(0, PAD.top + innerH - y(b.value))}
              rx={3}
              className="fill-accent-600"
            />
            <text x={PAD.left + i * slot + slot / 2} y={H - 8} textAnchor="middle" className="fill-slate-600 text-[13px] dark:fill-slate-300">
              {b.label}
            </text>
          </g>
        ))}
      </svg>
      <table className="sr-only">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{labelHeader}</th>
            <th scope="col">{unit}</th>
          </tr>
        </thead>
        <tbody>
          {bars.map((b, i) => (
            <tr key={i}>
              <td>{b.label}</td>
              <td>{b.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
