/**
 * encoded_blob: long base64 (standard or URL-safe) and hex runs. The blob is decoded (its
 * first 3 KB) and judged by what comes out:
 * - text that the phrase detectors flag (an override, a role header, a script…): strong;
 * - other readable text: medium (instructions rarely need hiding; mail bodies sometimes do);
 * - binary (images, keys, hashes, compressed data): weak, and only for long blobs.
 * `data:image/…;base64,` URIs, PEM blocks, JWTs and hex digests of hash length are skipped.
 */
import type { Detector, DetectorContext } from './context.js';
import { hasStrongCue } from './cues.js';
import { asciiSet, hasRun } from './prefilters.js';
import { quote } from './text-utils.js';

const MIN_RUN = 40;
const MAX_BLOBS = 256;
const HEX_ONLY = /^[0-9a-fA-F]+$/;
const DECODE_LIMIT = 1536;

/** True for A–Z a–z 0–9 + / _ - (the base64 and base64url alphabets). */
function isB64(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x5f || c === 0x2d;
}

const B64 = asciiSet('A-Za-z0-9+/_-');

/** One pass over the text finding maximal runs of ≥ 40 base64 characters (plus up to two '='). */
export const detectEncoded: Detector = (ctx) => {
  const { text } = ctx;
  // Most texts have no such run: probing for one (prefilters.ts hasRun) reads a fraction of the characters the loop does.
  if (!hasRun(text, B64, MIN_RUN)) return;
  const n = text.length;
  let blobs = 0;
  let start = -1;
  let pem: Array<[number, number]> | undefined;
  for (let i = 0; i <= n; i++) {
    if (i < n && isB64(text.charCodeAt(i))) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1 && i - start >= MIN_RUN) {
      let end = i;
      while (end < n && end - i < 2 && text.charCodeAt(end) === 0x3d) end++;
      pem ??= pemBlocks(text);
      judge(ctx, text.slice(start, end), start, pem);
      if (++blobs >= MAX_BLOBS) return;
    }
    start = -1;
  }
};

/** [start, end] of each `-----BEGIN …-----` … `-----END …-----` block. */
function pemBlocks(text: string): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  let from = 0;
  while (blocks.length < 64) {
    const start = text.indexOf('-----BEGIN ', from);
    if (start === -1) break;
    const end = text.indexOf('-----END ', start);
    if (end === -1) {
      blocks.push([start, text.length]);
      break;
    }
    blocks.push([start, end]);
    from = end + 9;
  }
  return blocks;
}

function judge(ctx: DetectorContext, run: string, index: number, pem: ReadonlyArray<[number, number]>): void {
  const before = ctx.text.slice(Math.max(0, index - 40), index);
  if (/data:(?:image|font|audio|video|application\/(?:octet-stream|pdf|zip|wasm|font-\w+|x-font-\w+))[\w.+/-]*(?:;[\w=.-]+)*;base64,\s*$/i.test(before)) return; // inline image/font/binary
  if (/ssh-(?:rsa|ed25519|dss)\s+$|ecdsa-sha2-\S+\s+$/.test(before)) return; // SSH public key
  if (pem.some(([from, to]) => index > from && index < to)) return; // inside a PEM block (certificate, key)
  if (/^eyJ/.test(run) && ctx.text.charAt(index + run.length) === '.') return; // JWT header segment

  let decoded: string | undefined;
  let isHex = false;
  if (HEX_ONLY.test(run)) {
    isHex = true;
    if (run.length <= 128 && (run.length === 40 || run.length === 64 || run.length === 96 || run.length === 128)) return; // SHA-1/256/384/512 digests
    if (run.length < 64) return;
    decoded = decodeHex(run.slice(0, DECODE_LIMIT * 2));
  } else {
    // Letters only, or no digits and no +/ in a 40-60 run, is an identifier or a path, not a blob.
    if (!/[0-9+/_-]/.test(run) || !/[a-z]/.test(run) || !/[A-Z]/.test(run)) return;
    decoded = decodeBase64(run.slice(0, Math.ceil((DECODE_LIMIT * 4) / 3 / 4) * 4));
  }
  const what = isHex ? 'hex' : 'base64';
  if (decoded !== undefined && readable(decoded)) {
    const inner = ctx.depth === 0 ? ctx.rescan(decoded) : [];
    const strongest = inner.reduce((best, f) => (f.score > best.score ? f : best), { score: 0, detail: '' });
    if (strongest.score >= 0.45) {
      ctx.add('encoded_blob', Math.max(0.85, strongest.score), `${what} blob (${run.length} chars) decodes to ${strongest.detail}`, index);
    } else if (decoded.trim().length >= 20) {
      // Readable text hidden in base64 that gives orders ("ignore", "you must", "send all …").
      ctx.add('encoded_blob', hasStrongCue(decoded) ? 0.6 : 0.35, `${what} blob (${run.length} chars) decodes to text ${quote(decoded, 40)}`, index);
    }
    return;
  }
  if (run.length >= 200) ctx.add('encoded_blob', 0.1, `${what} blob (${run.length} chars) of binary data`, index);
}

function decodeBase64(s: string): string | undefined {
  const clean = s.replace(/=+$/, '');
  if (clean.length % 4 === 1) return undefined;
  const buf = Buffer.from(clean.includes('-') || clean.includes('_') ? clean.replace(/-/g, '+').replace(/_/g, '/') : clean, 'base64');
  return buf.toString('utf8');
}

function decodeHex(s: string): string | undefined {
  return Buffer.from(s.length % 2 ? s.slice(0, -1) : s, 'hex').toString('utf8');
}

/** Mostly printable text: ≥ 85% of characters are letters, digits, punctuation or spaces, none are NUL/replacement. */
function readable(s: string): boolean {
  if (s.length < 12) return false;
  let bad = 0;
  const n = Math.min(s.length, 2048);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0xfffd || c === 0 || (c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) || c === 0x7f) bad++;
  }
  return bad / n < 0.05;
}
