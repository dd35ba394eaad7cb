/**
 * The redactor: applied to everything before it is written to the decision log or returned in a
 * response or an error message.
 *
 * Two mechanisms:
 * - by key: the value of a sensitive key (`password`, `Authorization`, `x-api-key`, … matched
 *   case-insensitively with `-` and `_` ignored, at any depth, in objects inside arrays) becomes
 *   `"[REDACTED]"`, whatever its type. So does the value of a `[key, value]` pair and of a
 *   `{ name | key: <sensitive>, value }` entry (header lists, Kubernetes env vars).
 * - by value: every string, at any depth, is scanned by the detectors of ./secret-patterns.ts
 *   (emails, SSNs, Luhn-valid card numbers, JWTs, PEM private keys, provider API keys, Warden keys,
 *   `Bearer …`, credentials in URLs, `key=value` with a sensitive key) and each finding becomes
 *   `[REDACTED:<name>]`. Object keys are kept as they are; numbers are not scanned.
 *
 * The output is a fresh copy made of plain objects, arrays and JSON primitives (plus `undefined`
 * where the input had it); the input is never mutated (`redactShared` gives the same output but
 * copies on write: what nothing was redacted in is the input's own object). It never throws:
 * - a cycle becomes `"[CIRCULAR]"` (an object reached twice along different paths is copied twice);
 * - values nested deeper than MAX_DEPTH, and everything after the first MAX_NODES values of one
 *   call, become `"[TRUNCATED]"`;
 * - Buffer / typed arrays / ArrayBuffer → `"[BINARY <n> bytes]"`; bigint → its decimal string
 *   (scanned); function → `"[Function]"`; symbol → `"[Symbol]"`; Date → ISO string (invalid: null);
 *   Map → object, Set → array; Error → `{ name, message, …own enumerable }`; boxed primitives →
 *   their value; other objects with `toJSON` → the redacted result of `toJSON()`; other class
 *   instances → a plain object of their own enumerable properties;
 * - a property whose getter (or proxy trap) throws becomes `"[UNREADABLE]"`; text a detector cannot
 *   scan (a regex stack overflow on a pathological custom pattern) becomes
 *   `"[REDACTED:unscannable]"` (fail closed).
 * A key named `__proto__` is copied as an own data property (with Object.defineProperty), never
 * through the prototype setter: the output's prototype is always Object.prototype.
 */
import { REDACTED, customDetector, defaultDetectors, detectorRunner, marker, rememberingClean, type Detector } from './secret-patterns.js';
import { DEFAULT_SENSITIVE_KEYS, KeyMatcher, normaliseKey } from './sensitive-keys.js';

export { DEFAULT_SENSITIVE_KEYS };

export interface RedactionConfig {
  /** Extra sensitive key names (case-insensitive, matched after normalising - and _ away), added to the defaults. */
  keys?: string[];
  /** Extra value patterns (JS regex source strings), added to the defaults. */
  patterns?: Array<{ name: string; regex: string }>;
  /** Turn off detectors by name, e.g. ['email'] when a deployment needs emails in its log. */
  disable?: string[];
}

export interface Redactor {
  /** Deep copy of a JSON value with sensitive keys' values replaced and sensitive substrings masked. Never mutates the input. */
  redact<T>(value: T): T;
  /**
   * The same redaction, copied on write: a plain object or array in which nothing is redacted is
   * returned as it is (the input itself, or the input's own subtree inside a copy), not copied.
   * The result equals `redact`'s member for member (as JSON, as canonical JSON, path for path),
   * but may share objects with the input: for values only read, or copied before they are kept
   * (the decision record's recorded request). Never mutates the input.
   */
  redactShared<T>(value: T): T;
  /** Masks sensitive substrings inside free text (error messages, reasons). */
  redactText(text: string): string;
  /** True when the value contains anything the redactor would mask (for tests and guards). */
  containsSensitive(value: unknown): boolean;
}

/** The names of the built-in value detectors (for `disable`). */
export const DEFAULT_DETECTORS: readonly string[] = Object.freeze(
  defaultDetectors(new KeyMatcher(DEFAULT_SENSITIVE_KEYS)).map((d) => d.name),
);

/** Values nested deeper than this (the root is depth 0) become "[TRUNCATED]". */
export const MAX_DEPTH = 64;
/** At most this many values are copied by one `redact` call; the rest become "[TRUNCATED]". */
export const MAX_NODES = 1_000_000;

export const CIRCULAR = '[CIRCULAR]';
export const TRUNCATED = '[TRUNCATED]';
export const UNREADABLE = '[UNREADABLE]';
const UNSCANNABLE = marker('unscannable');
const MARKER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

interface Walk {
  /** The objects on the path from the root: `path[d]` is the object being copied at depth d. */
  path: object[];
  nodes: number;
  /** containsSensitive: stop at the first finding instead of copying. */
  detectOnly: boolean;
  found: boolean;
  /** redactShared: plain objects and arrays nothing in which changes are returned, not copied. */
  share: boolean;
  /**
   * redactShared: the redacted members of the objects being walked, one stretch per object on
   * the path (one array for the whole walk, none per object), `members[0..top)`: copied out only
   * when one differs. Entries above `top` are stale (never shortened: setting length costs more).
   */
  members: unknown[];
  top: number;
}

export function createRedactor(config: RedactionConfig = {}): Redactor {
  const keys = [...DEFAULT_SENSITIVE_KEYS];
  for (const key of config.keys ?? []) {
    if (typeof key !== 'string' || normaliseKey(key) === '') {
      throw new Error(`redaction: key ${JSON.stringify(key)} is not a non-empty name`);
    }
    keys.push(key);
  }
  const matcher = new KeyMatcher(keys);
  const isSensitiveKey = (key: string): boolean => matcher.isSensitive(key);

  const custom: Detector[] = [];
  for (const pattern of config.patterns ?? []) {
    const name = pattern?.name;
    if (typeof name !== 'string' || !MARKER_NAME.test(name)) {
      throw new Error(`redaction: pattern name ${JSON.stringify(name)} must match ${MARKER_NAME}`);
    }
    try {
      custom.push(customDetector(name, pattern.regex));
    } catch (error) {
      throw new Error(`redaction: pattern "${name}" is not a valid regex: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  const known = new Set([...DEFAULT_DETECTORS, ...custom.map((d) => d.name)]);
  const disabled = new Set<string>();
  for (const name of config.disable ?? []) {
    if (!known.has(name)) {
      throw new Error(`redaction: cannot disable unknown detector "${name}" (known: ${[...known].join(', ')})`);
    }
    disabled.add(name);
  }
  const detectors = [...defaultDetectors(matcher), ...custom].filter((d) => !disabled.has(d.name));
  const runDetectors = rememberingClean(detectorRunner(detectors));

  function redactText(text: string): string {
    if (typeof text !== 'string') text = safeString(text);
    if (text.length === 0) return text;
    try {
      return runDetectors(text);
    } catch {
      return UNSCANNABLE;
    }
  }

  function text(value: string, state: Walk): string {
    const out = redactText(value);
    if (state.detectOnly && out !== value) state.found = true;
    return out;
  }

  function byKey(value: unknown, state: Walk): string {
    if (state.detectOnly && value !== REDACTED) state.found = true;
    return REDACTED;
  }

  function walk(value: unknown, depth: number, state: Walk): unknown {
    if (state.found) return undefined;
    if (depth > MAX_DEPTH || ++state.nodes > MAX_NODES) return TRUNCATED;
    switch (typeof value) {
      case 'string':
        return text(value, state);
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'bigint':
        return text(value.toString(), state);
      case 'symbol':
        return '[Symbol]';
      case 'function':
        return '[Function]';
    }
    if (value === null) return null;
    const object = value as object;
    // Every object is copied at depth d + 1 of its container, so path[0..depth) is the chain of
    // its ancestors (shallower entries are rewritten on the way down; deeper ones are stale).
    const path = state.path;
    for (let i = 0; i < depth; i++) if (path[i] === object) return CIRCULAR;
    path[depth] = object;
    const top = state.top;
    try {
      return walkObject(object, depth, state);
    } catch {
      state.top = top;
      return UNREADABLE;
    }
  }

  function walkObject(object: object, depth: number, state: Walk): unknown {
    if (Array.isArray(object)) return state.share ? shareArray(object, depth, state) : walkArray(object, depth, state);
    const proto: unknown = Object.getPrototypeOf(object);
    if ((proto === Object.prototype || proto === null) && typeof (object as { toJSON?: unknown }).toJSON !== 'function') {
      // Only an ordinary object is shared: one without a prototype is copied into one with it, as redact does.
      return state.share && proto === Object.prototype ? shareProperties(object, depth, state) : copyProperties(object, {}, depth, state);
    }
    if (ArrayBuffer.isView(object)) return `[BINARY ${object.byteLength} bytes]`;
    const tag = Object.prototype.toString.call(object);
    switch (tag) {
      case '[object ArrayBuffer]':
      case '[object SharedArrayBuffer]':
        return `[BINARY ${(object as ArrayBuffer).byteLength} bytes]`;
      case '[object Date]': {
        const time = (object as Date).getTime();
        return Number.isNaN(time) ? null : (object as Date).toISOString();
      }
      case '[object String]':
      case '[object Number]':
      case '[object Boolean]':
      case '[object BigInt]':
        return walk((object as { valueOf(): unknown }).valueOf(), depth + 1, state);
    }
    if (object instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of object) {
        if (state.found) break;
        const key = typeof k === 'string' ? k : safeString(k);
        setOwn(out, key, property(key, v, false, depth, state));
      }
      return out;
    }
    if (object instanceof Set) return walkArray([...(object as Set<unknown>)], depth, state);
    if (object instanceof Error) {
      const out: Record<string, unknown> = {
        name: text(safeString(object.name), state),
        message: text(safeString(object.message), state),
      };
      if ('cause' in object && object.cause !== undefined) out.cause = walk(object.cause, depth + 1, state);
      copyProperties(object, out, depth, state);
      return out;
    }
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      return walk(toJSON.call(object), depth + 1, state);
    }
    return copyProperties(object, {}, depth, state);
  }

  function walkArray(array: readonly unknown[], depth: number, state: Walk): unknown[] {
    const length = array.length;
    const pairKey = pairNamesSecret(array);
    const out: unknown[] = new Array<unknown>(Math.min(length, MAX_NODES));
    for (let i = 0; i < length; i++) {
      if (state.found) break;
      if (state.nodes >= MAX_NODES) {
        out.length = i;
        out.push(TRUNCATED);
        break;
      }
      out[i] = item(i, read(array, i), pairKey, depth, state);
    }
    return out;
  }

  function copyProperties(
    object: object,
    out: Record<string, unknown>,
    depth: number,
    state: Walk,
  ): Record<string, unknown> {
    const source = object as Record<string, unknown>;
    const keys = Object.keys(object);
    const sensitiveEntry = entryNamesSecret(source, keys);
    for (const key of keys) {
      if (state.found) break;
      if (state.nodes >= MAX_NODES) {
        setOwn(out, key, TRUNCATED);
        continue;
      }
      setOwn(out, key, property(key, read(source, key), sensitiveEntry, depth, state));
    }
    return out;
  }

  /*
   * The copy-on-write walk (redactShared): each member is redacted as copyProperties / walkArray
   * would, in the same order (so node counts, truncation and cycles come out the same), and kept
   * on `state.members`; the container is returned itself when every member came back identical,
   * and copied from the kept members otherwise. A member that is not identical to what it was
   * read as forces the copy: a redacted or masked value, a copied subtree, NaN (which is not
   * identical to itself, so the copy is what differingPaths compares, as before), a property that
   * could not be read, anything truncated.
   */

  function shareArray(array: readonly unknown[], depth: number, state: Walk): unknown[] {
    // An array subclass, or one with a toJSON of its own (JSON.stringify would call it), is copied.
    if (Object.getPrototypeOf(array) !== Array.prototype || (array as { toJSON?: unknown }).toJSON !== undefined) {
      return walkArray(array, depth, state);
    }
    const length = array.length;
    const pairKey = pairNamesSecret(array);
    const members = state.members;
    const base = state.top;
    let changed = false;
    let truncated = false;
    for (let i = 0; i < length; i++) {
      if (state.nodes >= MAX_NODES) {
        truncated = changed = true;
        break;
      }
      const v = read(array, i);
      const r = item(i, v, pairKey, depth, state);
      if (r !== v || v === UNREADABLE) changed = true;
      members[state.top++] = r;
    }
    const end = state.top;
    state.top = base;
    if (!changed) return array as unknown[];
    const out = members.slice(base, end);
    if (truncated) out.push(TRUNCATED);
    return out;
  }

  function shareProperties(object: object, depth: number, state: Walk): unknown {
    const source = object as Record<string, unknown>;
    const keys = Object.keys(object);
    const sensitiveEntry = entryNamesSecret(source, keys);
    const members = state.members;
    const base = state.top;
    let changed = false;
    for (const key of keys) {
      if (state.nodes >= MAX_NODES) {
        members[state.top++] = TRUNCATED;
        changed = true;
        continue;
      }
      const v = read(source, key);
      const r = property(key, v, sensitiveEntry, depth, state);
      if (r !== v || v === UNREADABLE) changed = true;
      members[state.top++] = r;
    }
    state.top = base;
    if (!changed) return object;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) setOwn(out, keys[i]!, members[base + i]);
    return out;
  }

  function namesSensitive(source: object, field: string): boolean {
    const name = read(source, field);
    return typeof name === 'string' && isSensitiveKey(name);
  }

  /*
   * Which members are redacted by what names them, not by what they hold: one rule for the copy
   * (redact) and the copy-on-write walk (redactShared), so the two can never disagree on a secret.
   */

  /** `{ name: "Authorization", value: "…" }`: the value is sensitive because of its name. */
  function entryNamesSecret(source: Record<string, unknown>, keys: readonly string[]): boolean {
    return keys.includes('value') && (namesSensitive(source, 'name') || namesSensitive(source, 'key'));
  }

  /** `["Authorization", "…"]`: the second item is sensitive because of the first. */
  function pairNamesSecret(array: readonly unknown[]): boolean {
    return array.length === 2 && typeof array[0] === 'string' && isSensitiveKey(array[0]);
  }

  /** A property's redaction: by its key (or its entry's name) when that is sensitive, else of its value. */
  function property(key: string, value: unknown, entrySecret: boolean, depth: number, state: Walk): unknown {
    return isSensitiveKey(key) || (entrySecret && key === 'value') ? byKey(value, state) : walk(value, depth + 1, state);
  }

  /** An array item's redaction: by the pair's name (see pairNamesSecret), else of its value. */
  function item(index: number, value: unknown, pairSecret: boolean, depth: number, state: Walk): unknown {
    return pairSecret && index === 1 ? byKey(value, state) : walk(value, depth + 1, state);
  }

  return {
    redact<T>(value: T): T {
      const state: Walk = { path: [], nodes: 0, detectOnly: false, found: false, share: false, members: [], top: 0 };
      return walk(value, 0, state) as T;
    },
    redactShared<T>(value: T): T {
      const state: Walk = { path: [], nodes: 0, detectOnly: false, found: false, share: true, members: [], top: 0 };
      return walk(value, 0, state) as T;
    },
    redactText,
    containsSensitive(value: unknown): boolean {
      const state: Walk = { path: [], nodes: 0, detectOnly: true, found: false, share: false, members: [], top: 0 };
      walk(value, 0, state);
      return state.found;
    },
  };
}

/** A property read that may hit a throwing getter or proxy trap. */
function read(object: object, key: string | number): unknown {
  try {
    return (object as Record<string | number, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Assignment, except for `__proto__`, which would set the prototype instead of a property. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'symbol' ? '[Symbol]' : String(value);
  } catch {
    return UNREADABLE;
  }
}
