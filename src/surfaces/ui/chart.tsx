import { useEffect, useRef, useState } from 'preact/hooks';
import type { Effect } from './types';

type Point = { at: number; allow: number; deny: number; require_approval: number };

const ORDER: Effect[] = ['allow', 'require_approval', 'deny'];
const NAMES: Record<Effect, string> = { allow: 'allowed', require_approval: 'held for approval', deny: 'denied' };
const HEIGHT = 180;
/** Room an axis label needs, in pixels: fewer labels on a narrow screen, never overlapping. */
const LABEL_SPACING = 80;

const minuteLabel = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
const sum = (p: Point) => p.allow + p.deny + p.require_approval;
const describe = (p: Point) => `${minuteLabel(p.at)}: ${p.allow} allowed, ${p.require_approval} held, ${p.deny} denied`;

/** The width the chart is drawn at, in CSS pixels: the SVG is drawn 1:1, so text is never stretched. */
function useWidth(): [{ current: HTMLElement | null }, number] {
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(720);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      const w = Math.round(entry!.contentRect.width);
      if (w > 0) setWidth(w);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/**
 * Decisions per minute by effect: stacked bars in plain SVG, one per minute of the last
 * `minutes`, with a legend and the same numbers as a table. A minute with decisions is a button
 * (`onPick`): the overview lists that minute's requests.
 */
export function DecisionsChart({ series, now, minutes = 60, onPick }: { series: Point[]; now: number; minutes?: number; onPick?: (from: number, to: number, label: string) => void }) {
  const [ref, width] = useWidth();
  const bucket = 60_000;
  const end = Math.floor(now / bucket) * bucket;
  const start = end - (minutes - 1) * bucket;
  // Summed per minute here: the store's buckets are not always aligned to the minute.
  const byAt = new Map<number, Point>();
  for (const p of series) {
    const at = Math.floor(p.at / bucket) * bucket;
    const s = byAt.get(at) ?? { at, allow: 0, deny: 0, require_approval: 0 };
    s.allow += p.allow;
    s.deny += p.deny;
    s.require_approval += p.require_approval;
    byAt.set(at, s);
  }
  const points: Point[] = Array.from({ length: minutes }, (_, i) => byAt.get(start + i * bucket) ?? { at: start + i * bucket, allow: 0, deny: 0, require_approval: 0 });
  const total = points.reduce((n, p) => n + sum(p), 0);
  const scale = niceMax(Math.max(1, ...points.map(sum)));
  const W = width;
  const left = 34;
  const bottom = 22;
  const plotW = W - left - 6;
  const plotH = HEIGHT - bottom - 8;
  const barW = plotW / minutes;
  const every = Math.max(1, Math.ceil(minutes / Math.max(2, Math.floor(plotW / LABEL_SPACING))));
  const ticks = Array.from({ length: minutes }, (_, i) => i).filter((i) => (minutes - 1 - i) % every === 0);
  const pick = (p: Point) => onPick?.(p.at, p.at + bucket, minuteLabel(p.at));

  return (
    <figure class="chart" ref={ref}>
      {total === 0 ? (
        <p class="muted chart-empty">No decisions in the last {minutes} minutes.</p>
      ) : (
        <svg width={W} height={HEIGHT} viewBox={`0 0 ${W} ${HEIGHT}`} role="group" aria-label={`Decisions per minute over the last ${minutes} minutes: ${total} in all`}>
          {[0, 0.5, 1].map((f) => {
            const y = 8 + plotH - f * plotH;
            return (
              <g key={f} aria-hidden="true">
                <line x1={left} x2={W - 6} y1={y} y2={y} class="gridline" />
                <text x={left - 4} y={y + 4} class="axis" text-anchor="end">
                  {Math.round(scale * f)}
                </text>
              </g>
            );
          })}
          {points.map((p, i) => {
            if (sum(p) === 0) return null;
            let y = 8 + plotH;
            return (
              <g
                key={p.at}
                class="bar"
                role="button"
                tabIndex={0}
                aria-label={`${describe(p)}. Show these requests`}
                data-minute={p.at}
                onClick={() => pick(p)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    pick(p);
                  }
                }}
              >
                {/* The whole column is the target, not only the coloured part. */}
                <rect x={left + i * barW} y={8} width={barW} height={plotH} class="bar-hit" />
                {ORDER.map((e) => {
                  const h = (p[e] / scale) * plotH;
                  y -= h;
                  return h > 0 ? <rect key={e} x={left + i * barW + 0.5} y={y} width={Math.max(1, barW - 1)} height={h} class={`bar-${e}`} /> : null;
                })}
              </g>
            );
          })}
          {ticks.map((i) => (
            <text key={i} aria-hidden="true" x={left + i * barW + barW / 2} y={HEIGHT - 6} class="axis" text-anchor={i === minutes - 1 ? 'end' : 'middle'}>
              {minuteLabel(start + i * bucket)}
            </text>
          ))}
        </svg>
      )}
      <figcaption>
        <ul class="legend">
          {ORDER.map((e) => (
            <li key={e}>
              <span class={`swatch bar-${e}`} aria-hidden="true" /> {NAMES[e]}
            </li>
          ))}
        </ul>
      </figcaption>
      {total > 0 && (
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
                .filter((p) => sum(p) > 0)
                .map((p) => (
                  <tr key={p.at}>
                    <td>
                      <button type="button" class="link" onClick={() => pick(p)}>
                        {minuteLabel(p.at)}
                      </button>
                    </td>
                    <td>{p.allow}</td>
                    <td>{p.require_approval}</td>
                    <td>{p.deny}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}

function niceMax(n: number): number {
  for (const step of [2, 4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10_000]) if (n <= step) return step;
  return Math.ceil(n / 10_000) * 10_000;
}
