import { squashKey } from '../lib/key-words.js';

/**
 * Sensitive key names: the value of such a key is redacted whatever it is, in structured values
 * (`{ "password": … }`) and after `key=` / `key:` in free text.
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'x-api-key',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'private_key',
  'ssh_key',
  'credentials',
  'session_token',
  'ssn',
  'card_number',
  'cvv',
  'pin',
  // Beyond the original list: an AWS secret key (40 base64 characters) has no recognisable shape
  // of its own, so without its key name `{ aws_secret_access_key: "…" }` would pass untouched.
  'aws_secret_access_key',
  'secret_access_key',
]);

/** Keys whose value in free text runs to the end of the line (HTTP headers: `Authorization: Basic …`). */
const LINE_KEYS = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie']);

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Case-insensitive, everything but letters and digits ignored: `X-Api-Key`, `x_api_key` and
 * `XAPIKEY` are one key. Beyond ASCII, folded as argument keys are (lib/key-words.ts: NFKC, case
 * folding, invisible characters dropped), so `pass\u200bword` and `ｐａｓｓｗｏｒｄ` are `password` too.
 */
export function normaliseKey(key: string): string {
  return PRINTABLE_ASCII.test(key) ? key.toLowerCase().replace(/[^a-z0-9]/g, '') : squashKey(key);
}

export const KeyKind = {
  None: 0,
  /** The value is one token (or a quoted string). */
  Value: 1,
  /** The value is the rest of the line (or a quoted string). */
  Line: 2,
} as const;
export type KeyKind = (typeof KeyKind)[keyof typeof KeyKind];

const CACHE_LIMIT = 4_096;

/** Decides whether a key name is sensitive; remembers the answer for names it has seen. */
export class KeyMatcher {
  private readonly keys: Set<string>;
  private readonly cache = new Map<string, KeyKind>();
  /**
   * `firsts[c]`: some sensitive key, normalised, starts with the ASCII character c; null when one
   * starts beyond ASCII (then no name is ruled out by its first character).
   */
  private readonly firsts: Uint8Array | null;

  constructor(keys: Iterable<string>) {
    this.keys = new Set([...keys].map(normaliseKey).filter((k) => k.length > 0));
    let firsts: Uint8Array | null = new Uint8Array(128);
    for (const k of this.keys) {
      const c = k.charCodeAt(0);
      if (c >= 128) {
        firsts = null;
        break;
      }
      firsts[c] = 1;
    }
    this.firsts = firsts;
  }

  /**
   * True when `key` is printable ASCII (so normaliseKey lower-cases it and drops all but [a-z0-9])
   * and its first letter or digit, lower-cased, starts no sensitive key (or it has none): then it
   * is not sensitive, without building its normal form. Dates, amounts and ids before a `:` in
   * text (`2026-11-10T08:10`) are ruled out here.
   */
  private ruledOut(key: string): boolean {
    return this.ruledOutIn(key, 0, key.length);
  }

  /** ruledOut for `text.slice(from, to)`, without slicing it. */
  ruledOutIn(text: string, from: number, to: number): boolean {
    const firsts = this.firsts;
    if (firsts === null) return false;
    let first = -1;
    for (let i = from; i < to; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return false;
      if (first < 0) {
        if (c >= 65 && c <= 90) c += 32;
        if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) first = c;
      }
    }
    return first < 0 || firsts[first] === 0;
  }

  /**
   * `remember: false` for names sliced out of a larger text: V8 may keep such a slice as a view of
   * the whole text, and the cache would then keep the text alive.
   */
  kind(key: string, remember = true): KeyKind {
    let kind = this.cache.get(key);
    if (kind === undefined) {
      const normal = this.ruledOut(key) ? '' : normaliseKey(key);
      kind = !this.keys.has(normal) ? KeyKind.None : LINE_KEYS.has(normal) ? KeyKind.Line : KeyKind.Value;
      if (remember) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(key, kind);
      }
    }
    return kind;
  }

  isSensitive(key: string): boolean {
    return this.kind(key) !== KeyKind.None;
  }
}
