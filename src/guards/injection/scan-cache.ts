/**
 * Scan results by content: agents send the same arguments and read the same results again and
 * again (retries, a document quoted in every turn, the same search result in every session).
 *
 * Keyed by the allowed hosts and the text: a short text is its own key; a longer one is keyed
 * by its SHA-256, so the cache holds no copy of it and a crafted text cannot share the key of a
 * harmless one. Bounded: at most MAX_ENTRIES results and MAX_FINDINGS findings in all, least
 * recently used dropped first (lru-cache). Entries are frozen copies; callers get fresh copies,
 * so a caller that edits a finding cannot change what the next caller reads.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { InjectionFinding } from './types.js';

export interface CachedScan {
  findings: InjectionFinding[];
  truncated: boolean;
}

/** Texts up to this many UTF-16 units are their own key; longer ones are hashed. */
const KEY_BY_TEXT = 512;
const MAX_ENTRIES = 4096;
const MAX_FINDINGS = 32_768;

const cache = new LRUCache<string, Readonly<CachedScan>>({
  max: MAX_ENTRIES,
  maxSize: MAX_FINDINGS,
  sizeCalculation: (entry) => 1 + entry.findings.length,
});

function keyOf(text: string, hostsKey: string): string {
  const content = text.length <= KEY_BY_TEXT ? `t${text}` : `h${hash('sha256', text, 'base64')}`;
  return hostsKey === '' ? content : `${hostsKey}\u0000${content}`;
}

function copy(scan: Readonly<CachedScan>): CachedScan {
  return { findings: scan.findings.map((f) => ({ ...f })), truncated: scan.truncated };
}

/** The cached scan of `text`, or the result of `scan(text)`, cached. */
export function cachedScan(text: string, hostsKey: string, scan: (text: string) => CachedScan): CachedScan {
  const key = keyOf(text, hostsKey);
  const hit = cache.get(key);
  if (hit) return copy(hit);
  const result = scan(text);
  cache.set(key, Object.freeze({ findings: result.findings.map((f) => Object.freeze({ ...f })), truncated: result.truncated }));
  return result;
}

/** Drops every cached result (benchmarks measure scans, not lookups). */
export function clearScanCache(): void {
  cache.clear();
}

/** How many results are cached (for tests of the bound). */
export function scanCacheSize(): number {
  return cache.size;
}

/** The most results the cache holds. */
export const SCAN_CACHE_ENTRIES = MAX_ENTRIES;
