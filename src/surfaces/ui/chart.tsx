import type { Effect } from './types';

type Point = { at: number; allow: number; deny: number; require_approval: number };

const ORDER: Effect[] = ['allow', 'require_approval', 'deny'];
const NAMES: Record<Effect, string> = { allow: 'allowed', require_approval: 'held for approval', deny: 'denied' };

/**
 * Decisions per minute by effect: stacked bars in plain SVG, one per minute of the last
 * `minutes`, with a legend and the same numbers as a table for screen readers.
 */
export function DecisionsChart({ series, now, minutes = 60 }: { series: Point[]; now: number; minutes?: number }) {
  const bucket = 60_000;
  const end = Math.floor(now / bucket) * bucket;
  const start = end - (minutes - 1) * bucket;
  // Summed per minute here: the store's buckets are not always aligned to the minute.
  const byAt = new Map<number, Point>();
  for (const p of series) {
    const at = Math.floor(p.at / bucket) * bucket;
    const sum = byAt.get(at) ?? { at, allow: 0, deny: 0, require_approval: 0 };
    sum.allow += p.allow;
    sum.deny += p.deny;
    sum.require_approval += p.require_approval;
    byAt.set(at, sum);
  }
  const points: Point[] = Array.from({ length: minutes }, (_, i) => byAt.get(start + i * bucket) ?? { at: start + i * bucket, allow: 0, deny: 0, require_approval: 0 });
  const max = Math.max(1, ...points.map((p) => p.allow + p.deny + p.require_approval));
  const scale = niceMax(max);
  const W = 720;
  const H = 180;
  const left = 34;
  const bottom = 22;
  const plotW = W - left - 6;
  const plotH = H - bottom - 8;
  const barW = plotW / minutes;
  const total = points.reduce((n, p) => n + p.allow + p.deny + p.require_approval, 0);
  const label = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Decisions per minute over the last ${minutes} minutes: ${total} in all`} preserveAspectRatio="none">
        {[0, 0.5, 1].map((f) => {
          const y = 8 + plotH - f * plotH;
          return (
            <g key={f}>
              <line x1={left} x2={W - 6} y1={y} y2={y} class="gridline" />
              <text x={left - 4} y={y + 4} class="axis" text-anchor="end">
                {Math.round(scale * f)}
              </text>
            </g>
          );
        })}
        {points.map((p, i) => {
          let y = 8 + plotH;
          return (
            <g key={p.at}>
              {ORDER.map((e) => {
                const h = (p[e] / scale) * plotH;
                y -= h;
                return h > 0 ? <rect key={e} x={left + i * barW + 0.5} y={y} width={Math.max(1, barW - 1)} height={h} class={`bar-${e}`} /> : null;
              })}
            </g>
          );
        })}
        {[0, Math.floor(minutes / 2), minutes - 1].map((i) => (
          <text key={i} x={left + i * barW + barW / 2} y={H - 6} class="axis" text-anchor={i === 0 ? 'start' : i === minutes - 1 ? 'end' : 'middle'}>
            {label(start + i * bucket)}
          </text>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {ORDER.map((e) => (
            <li key={e}>
              <span class={`swatch bar-${e}`} aria-hidden="true" /> {NAMES[e]}
            </li>
          ))}
        </ul>
      </figcaption>
      <details>
        <summary>Minutes with decisions, as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Minute</th>
              <th scope="col">Allowed</th>
              <th scope="col">Held</th>
              <th scope="col">Denied</th>
            </tr>
          </thead>
          <tbody>
            {points
              .filter((p) => p.allow + p.deny + p.require_approval > 0)
              .map((p) => (
                <tr key={p.at}>
                  <td>{label(p.at)}</td>
                  <td>{p.allow}</td>
                  <td>{p.require_approval}</td>
                  <td>{p.deny}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function niceMax(n: number): number {
  for (const step of [2, 4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10_000]) if (n <= step) return step;
  return Math.ceil(n / 10_000) * 10_000;
}
