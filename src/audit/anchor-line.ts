import type { CheckpointRecord } from '../store/records.js';

/** Marks a line of an anchor (a file, a log stream) as a Warden checkpoint. */
export const ANCHOR_LINE_TYPE = 'warden.checkpoint';

/**
 * A checkpoint as it is published: one JSON object on one line, with the instant also in ISO 8601
 * for people reading the anchor (`at`; verification uses `time`).
 */
export function anchorLine(c: CheckpointRecord): string {
  return JSON.stringify({ type: ANCHOR_LINE_TYPE, seq: c.seq, hash: c.hash, time: c.time, at: new Date(c.time).toISOString(), keyId: c.keyId, signature: c.signature });
}

/**
 * The checkpoint a line holds; undefined for any other line (an anchor may be a log stream that
 * carries other lines too). A line that says it is a checkpoint but is malformed is an error.
 */
export function parseAnchorLine(line: string): CheckpointRecord | undefined | Error {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes(ANCHOR_LINE_TYPE)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== ANCHOR_LINE_TYPE) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(v.seq) && (v.seq as number) > 0 && typeof v.hash === 'string' && Number.isFinite(v.time) && typeof v.keyId === 'string' && typeof v.signature === 'string';
  if (!ok) return new Error('a checkpoint line lacks seq, hash, time, keyId or signature');
  return { seq: v.seq as number, hash: v.hash as string, time: v.time as number, keyId: v.keyId as string, signature: v.signature as string };
}
