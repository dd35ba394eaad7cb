import { isJsonObject } from '../../model/json.js';
import { keyWords, squashKey } from '../../lib/key-words.js';

/** `arguments:` in warden.yaml, the part that decides which argument names are credentials. */
export interface ForbiddenKeyConfig {
  /** Refused whatever their value, compared folded (lib/key-words.ts): `Pass-Word`, `pass\u200bword`… */
  forbidden_keys: readonly string[];
  /** Words (one or more) that make a key a credential wherever they stand in it: `client_secret`. */
  forbidden_patterns: readonly string[];
  /** Keys a pattern never refuses (pagination tokens…); forbidden_keys still apply to them. */
  allowed_keys: readonly string[];
}

/**
 * Words that, after the credential word, make the key describe a credential rather than hold one:
 * `secret_name`, `SecretId`, `token_type`, `token_count`, `password_min_length`, `private_key_path`.
 */
export const DESCRIPTOR_WORDS: ReadonlySet<string> = new Set([
  'id', 'ids', 'name', 'names', 'type', 'types', 'kind', 'hint', 'label',
  'count', 'length', 'limit', 'size', 'budget', 'max', 'min', 'usage',
  'url', 'uri', 'endpoint', 'path', 'file', 'arn', 'ref', 'version', 'field', 'format', 'policy',
  'expiry', 'expires', 'expiration', 'ttl',
]);

/** Why a key is refused; `anyValue: false` (patterns) spares booleans and null, which carry no credential. */
interface Verdict {
  rule?: string;
  anyValue: boolean;
}

const CACHE_LIMIT = 4_096;

/**
 * Decides which argument keys name credentials. Keys are compared as words (lib/key-words.ts), so
 * case, separators, zero-width characters, compatibility forms and look-alike letters change
 * nothing. A forbidden key refuses any value; a pattern refuses a key in which its words appear as
 * whole words (`access_token`, `clientSecret`, `AWS_SECRET_ACCESS_KEY`; not `max_tokens`,
 * `secretary`), unless the key is allowed, a descriptor word follows (`token_count`, `secret_name`)
 * or the value cannot carry a credential (a boolean or null: `has_password: true`).
 */
/** What the log keeps of a refused key's value. */
const WITHHELD = '[REDACTED]';

export class ForbiddenKeys {
  private readonly exact = new Map<string, string>();
  private readonly patterns: Array<{ rule: string; squashed: string }> = [];
  private readonly allowed = new Set<string>();
  private readonly cache = new Map<string, Verdict>();

  constructor(config: ForbiddenKeyConfig) {
    for (const key of config.forbidden_keys) {
      const squashed = squashKey(key);
      if (squashed && !this.exact.has(squashed)) this.exact.set(squashed, key);
    }
    for (const pattern of config.forbidden_patterns) {
      const squashed = squashKey(pattern);
      if (squashed && !this.patterns.some((p) => p.squashed === squashed)) this.patterns.push({ rule: pattern, squashed });
    }
    for (const key of config.allowed_keys) this.allowed.add(squashKey(key));
  }

  /** Why this key, holding this value, is refused; undefined when it is not. */
  refuses(key: string, value: unknown): string | undefined {
    const verdict = this.verdict(key);
    if (!verdict.rule) return undefined;
    if (!verdict.anyValue && (value === null || typeof value === 'boolean')) return undefined;
    return verdict.rule;
  }

  /** The first argument (a path from `args`, at any depth, arrays included) whose key is refused. */
  find(value: unknown, path = 'args'): { path: string; why: string } | undefined {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = this.find(value[i], `${path}[${i}]`);
        if (found) return found;
      }
    } else if (isJsonObject(value)) {
      for (const key of Object.keys(value)) {
        const why = this.refuses(key, value[key]);
        if (why) return { path: `${path}.${key}`, why };
        const found = this.find(value[key], `${path}.${key}`);
        if (found) return found;
      }
    }
    return undefined;
  }

  /**
   * A copy of `value` with the value of every refused key replaced: what the decision log may keep
   * of arguments refused for carrying a credential (the redactor knows key names, not these rules).
   */
  withheld(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.withheld(v));
    if (!isJsonObject(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, this.refuses(key, v) ? WITHHELD : this.withheld(v)]));
  }

  private verdict(key: string): Verdict {
    let verdict = this.cache.get(key);
    if (verdict === undefined) {
      verdict = this.decide(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, verdict);
    }
    return verdict;
  }

  private decide(key: string): Verdict {
    const words = keyWords(key);
    const squashed = words.join('');
    const exact = this.exact.get(squashed);
    if (exact !== undefined) return { rule: `key "${exact}" is on arguments.forbidden_keys`, anyValue: true };
    if (this.allowed.has(squashed)) return { anyValue: false };
    for (const pattern of this.patterns) {
      if (matchesWords(words, pattern.squashed)) return { rule: `the words "${pattern.rule}" are on arguments.forbidden_patterns`, anyValue: false };
    }
    return { anyValue: false };
  }
}

/**
 * True when consecutive whole words of the key spell the pattern (`api`, `key` spell `apikey`) and
 * no descriptor word follows them.
 */
function matchesWords(words: readonly string[], pattern: string): boolean {
  for (let i = 0; i < words.length; i++) {
    let run = '';
    for (let j = i; j < words.length; j++) {
      run += words[j];
      if (run === pattern) {
        if (!words.slice(j + 1).some((w) => DESCRIPTOR_WORDS.has(w))) return true;
        break;
      }
      if (run.length >= pattern.length || !pattern.startsWith(run)) break;
    }
  }
  return false;
}
