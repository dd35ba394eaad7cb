// Frozen copy of src/audit/sensitive-keys.ts at the commit before the redact-results speed-up (only the import of
// key-words.js re-pointed): the oracle of test/audit/redact-equivalence.property.test.ts. Do not edit.
import { squashKey } from '../../../src/lib/key-words.js';

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

  constructor(keys: Iterable<string>) {
    this.keys = new Set([...keys].map(normaliseKey).filter((k) => k.length > 0));
  }

  /**
   * `remember: false` for names sliced out of a larger text: V8 may keep such a slice as a view of
   * the whole text, and the cache would then keep the text alive.
   */
  kind(key: string, remember = true): KeyKind {
    let kind = this.cache.get(key);
    if (kind === undefined) {
      const normal = normaliseKey(key);
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
