/** Helpers every benchmark shares: percentiles, timer overhead, versions, number formatting. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** The installed version of a package, or of Warden itself. */
export function versionOf(pkg) {
  try {
    const file = pkg === 'warden' ? join(root, 'package.json') : join(root, 'node_modules', pkg, 'package.json');
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return '?';
  }
}

export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
/** Nanoseconds as microseconds with sensible precision. */
export const fmtUs = (ns) => (Number.isNaN(ns) ? '—' : (ns / 1000).toFixed(ns < 10_000 ? 2 : ns < 1_000_000 ? 1 : 0));
export const fmtRatio = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
