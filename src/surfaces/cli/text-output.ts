import { parseInstant as instantOf } from '../../lib/duration.js';
import { UsageError } from './usage-error.js';

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `45s`, `12m 30s`, `3h 5m`, `2d 4h`: the two largest units. */
export function humanDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (parts.length === 0 && n === 0) continue;
    parts.push([n, unit]);
    if (parts.length === 2) break;
  }
  const text = parts
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
  return text === '' ? '0s' : text;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** One line for a terminal: newlines and tabs become spaces. */
export const oneLine = (text: string): string => text.replace(/[\r\n\t]+/g, ' ');

/**
 * A point in time given as an ISO 8601 instant or as a duration before now (`1h`, `30m`, `2d`).
 * Anything else is a usage error naming the option.
 */
export function parseInstant(option: string, text: string, now: number): number {
  const at = instantOf(text, now);
  if (at === undefined) throw new UsageError(`${option} "${text}" is neither an ISO 8601 time (2026-11-02T10:00:00Z) nor a duration (1h, 30m, 2d)`);
  return at;
}

/** A whole number within [min, max], or a usage error naming the option. */
export function parseCount(option: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}

/** Picks one of `allowed`, or a usage error listing them. */
export function oneOf<T extends string>(option: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${option} must be one of ${allowed.join(', ')}, not "${text}"`);
  return text as T;
}

/** A required free-text option that must not be blank (a reason, a user id). */
export function nonBlank(option: string, text: string | undefined): string {
  if (text === undefined || text.trim() === '') throw new UsageError(`${option} must not be empty`);
  return text.trim();
}

/** `a, b,,c` → ['a', 'b', 'c']. */
export const commaList = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** One CSV field, quoted per RFC 4180 when it holds a comma, a quote or a line break. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, terminated by CRLF as RFC 4180 specifies. */
export const csvRow = (fields: ReadonlyArray<string | number | boolean | null | undefined>): string => `${fields.map(csvField).join(',')}\r\n`;

/**
 * Standard output for long streams: waits when the pipe is full (so a large export never piles
 * up in memory) and stops quietly when the reader goes away (`warden audit export | head`).
 */
export interface StreamOut {
  write(text: string): Promise<boolean>;
  readonly closed: boolean;
}

export function streamStdout(out: NodeJS.WriteStream = process.stdout): StreamOut {
  let closed = false;
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (!closed && error.code !== 'EPIPE') console.error(`error: cannot write the output: ${error.message}`);
    if (error.code !== 'EPIPE') process.exitCode = 1;
    closed = true;
  });
  return {
    get closed() {
      return closed;
    },
    async write(text: string): Promise<boolean> {
      if (closed) return false;
      if (!out.write(text)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
          out.on('close', done);
        });
      }
      return !closed;
    },
  };
}
