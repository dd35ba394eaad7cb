/**
 * Decoding layers: text written so that a keyword filter does not see it, undone and scanned again
 * by the phrase detectors — base32, ROT13, URL escapes (%69%67…), HTML character references
 * (&#105;&#x67;…), and confusables (full-width letters, Cyrillic look-alikes, leetspeak inside words:
 * the NFKC skeleton of features.ts). Base64 and hex are encoded.ts's; Unicode tag characters are
 * hidden-text.ts's.
 *
 * Layers nest (ROT13 inside base64, URL escapes inside HTML) up to MAX_DEPTH decodings; each
 * layer is gated by a cheap test, so plain text costs a few regex tests. A decoded text that the
 * phrase detectors flag is an `encoded_blob` finding as strong as what it hides (≥ 0.85).
 */
import type { DetectorContext, Detector } from './context.js';
import { skeleton } from './features.js';
import { asciiSet, hasRun } from './prefilters.js';
import type { InjectionFinding } from './types.js';

/** How many decodings deep a text is followed (the text itself is depth 0). */
export const MAX_DEPTH = 2;
const DECODE_LIMIT = 8192;

const BASE32_RUN = /(?<![A-Za-z0-9])[A-Z2-7]{24,}={0,6}(?![A-Za-z0-9])/g;
/** ROT13 of words an injection uses: ignore, instructions, previous, system, prompt, disregard, assistant, password. */
const ROT13_NEEDLES = /\b(?:vtaber|vafgehpgvbaf?|cerivbhf|flfgrz|cebzcg|qvfertneq|nffvfgnag|cnffjbeq|sbetrg|eriryny|eriryy)\b|\brot-?13\b/i;
const URL_ESCAPE = /%[0-9a-f]{2}/gi;
const HTML_REF = /&#(?:x[0-9a-f]{1,6}|\d{1,7});|&(?:lt|gt|amp|quot|apos|nbsp);/gi;
/** Characters the skeleton changes: full-width Latin letters, Cyrillic/Greek letters touching Latin ones, leetspeak in the words attacks use. */
const FULL_WIDTH = /[\uff21-\uff3a\uff41-\uff5a]/;
const GREEK_CYRILLIC = /[\u0370-\u04ff]/;
const MIXED_SCRIPT = /[a-z][\u0370-\u04ff]|[\u0370-\u04ff][a-z]/i;
// Every alternative needs a substituted character: plain "password", "prompt" or "ignore" must
// not send a text through the skeleton and a second full scan.
const LEET_WORDS = /[1!]gn[o0]r|ign0r|ignor3|pr3v|prev[1!]ou|[1!]nstruct|instruct[1!]on|syst3m|pr0mpt|p[4@]ssw|passw0rd|d[1!]sregard|f0rg[3e]t|forg3t|r3v[3e]al|rev3al|[5$]ystem/i;
/** The characters LEET_WORDS puts for letters. Each of its alternatives has one next to a letter (A–Z, a–z). */
const LEET_CHARS = ['1', '!', '0', '3', '4', '@', '5', '$'];
const isAsciiLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;

/**
 * Whether LEET_WORDS can match `text`: one of LEET_CHARS next to an ASCII letter (the only
 * characters its letters match, case-insensitively without the u flag). Found by indexOf, which
 * reads a text several times faster than the regex; after 64 such characters with no letter
 * beside them the regex is left to answer.
 */
export function mayBeLeet(text: string): boolean {
  let seen = 0;
  for (const ch of LEET_CHARS) {
    for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) {
      if (isAsciiLetter(text.charCodeAt(i - 1)) || isAsciiLetter(text.charCodeAt(i + 1))) return true;
      if (++seen >= 64) return true;
    }
  }
  return false;
}

/** `ascii`: the text has only ASCII characters, so it has no full-width, Greek or Cyrillic letter to test for. */
function needsSkeleton(text: string, ascii: boolean): boolean {
  return (!ascii && (FULL_WIDTH.test(text) || (GREEK_CYRILLIC.test(text) && MIXED_SCRIPT.test(text)))) || (mayBeLeet(text) && LEET_WORDS.test(text));
}

const BASE32 = asciiSet('A-Z2-7');
/** A run of ≥ 24 base32 characters (A–Z, 2–7), where BASE32_RUN can match: probed, not walked (prefilters.ts hasRun). */
const hasBase32Run = (text: string): boolean => hasRun(text, BASE32, 24);

function count(re: RegExp, text: string, enough: number): boolean {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) if (++n >= enough) break;
  re.lastIndex = 0;
  return n >= enough;
}

function decodeBase32(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const ch of s.replace(/=+$/, '')) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * ROT13 of `s`'s first `limit` UTF-16 units (A–Z and a–z rotated, every other unit kept), by one
 * walk over its UTF-16LE bytes. Equal to `s.replace(/[a-z]/gi, …).slice(0, limit)` (the regex, without the
 * u flag, matches only ASCII letters, and rotating keeps the length), and what report() reads of
 * it is its first DECODE_LIMIT units: the callback per letter over a whole 10 KB text was a sixth
 * of scanning an attack-dense one.
 */
export function rot13(s: string, limit = s.length): string {
  // UTF-16 units as little-endian byte pairs: an ASCII letter is a low byte with a zero high byte.
  // (utf16le writes and reads code units as they are, lone surrogates included.)
  const bytes = Buffer.from(s.length > limit ? s.slice(0, limit) : s, 'utf16le');
  for (let i = 0; i < bytes.length; i += 2) {
    if (bytes[i + 1] !== 0) continue;
    const c = bytes[i]!;
    const l = c | 0x20;
    if (l >= 0x61 && l <= 0x7a) bytes[i] = l <= 0x6d ? c + 13 : c - 13;
  }
  return bytes.toString('utf16le');
}

function decodeUrl(s: string): string {
  return s.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ' };
function decodeHtml(s: string): string {
  return s.replace(HTML_REF, (ref) => {
    if (ref[1] !== '#') return NAMED[ref.slice(1, -1).toLowerCase()] ?? ref;
    const code = ref[2] === 'x' || ref[2] === 'X' ? parseInt(ref.slice(3, -1), 16) : parseInt(ref.slice(2, -1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ref;
  });
}

function readable(s: string): boolean {
  if (s.trim().length < 12) return false;
  let bad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0xfffd || (c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) bad++;
  }
  return bad / s.length < 0.05;
}

/**
 * Rescans decoded text. An encoding hides what it carries: its finding is an `encoded_blob` at
 * least 0.85. Look-alike characters only disguise it: the finding keeps its own kind and score
 * (damped when quoted), so the skeleton of a text adds nothing to what the text itself showed.
 */
function report(ctx: DetectorContext, layer: string, decoded: string, offset: number, encoding = true): void {
  const inner: InjectionFinding[] = ctx.rescan(decoded.length > DECODE_LIMIT ? decoded.slice(0, DECODE_LIMIT) : decoded);
  let best: InjectionFinding | undefined;
  for (const f of inner) if (f.kind !== 'classifier' && (!best || f.score > best.score)) best = f;
  if (!best || best.score < 0.45) return;
  if (encoding) ctx.add('encoded_blob', Math.max(0.85, best.score), `${layer} hides ${best.detail}`, offset);
  else ctx.add(best.kind, best.score, `${best.detail} (${layer})`, offset + best.offset);
}

export const detectLayers: Detector = (ctx) => {
  if (ctx.depth >= MAX_DEPTH) return;
  const { text } = ctx;
  if (hasBase32Run(text)) {
    BASE32_RUN.lastIndex = 0;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = BASE32_RUN.exec(text)) !== null && n++ < 16) {
      if (m[0].replace(/=+$/, '').length % 8 === 1 || !/[2-7]/.test(m[0])) continue;
      const decoded = decodeBase32(m[0]);
      if (readable(decoded)) report(ctx, `base32 run (${m[0].length} chars)`, decoded, m.index);
    }
    BASE32_RUN.lastIndex = 0;
  }
  if (ROT13_NEEDLES.test(text)) report(ctx, 'ROT13 text', rot13(text, DECODE_LIMIT), 0);
  if (text.includes('%') && count(URL_ESCAPE, text, 6)) {
    const decoded = decodeUrl(text);
    if (decoded !== text) report(ctx, 'URL-escaped text', decoded, text.indexOf('%'));
  }
  if (text.includes('&') && count(HTML_REF, text, 6)) {
    const decoded = decodeHtml(text);
    if (decoded !== text) report(ctx, 'HTML character references', decoded, text.indexOf('&'));
  }
  if (needsSkeleton(text, ctx.ascii)) {
    const skel = skeleton(text);
    if (skel !== text.toLowerCase()) report(ctx, 'look-alike characters', skel, 0, false);
  }
};
