/** Object keys as JSON strings, kept: records repeat the same few hundred keys. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, text);
  }
  return text;
}

/**
 * The characters JSON.stringify does not write as they are inside a string: `"`, `\`, controls,
 * and lone surrogates (matched here as any surrogate code unit: no `u` flag). A string without
 * any is written as itself between quotes.
 */
// eslint-disable-next-line no-control-regex -- the controls are what it looks for
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * How JSON text is written: `string` quotes a string, `scalar` any other non-object (as
 * JSON.stringify does: undefined for undefined, functions and symbols; a bigint throws).
 */
interface Style {
  string(text: string): string;
  scalar(value: unknown): string | undefined;
}

/** JSON.stringify for each string: exact whatever it holds. */
const EXACT: Style = {
  string: (text) => JSON.stringify(text),
  scalar: (value) => JSON.stringify(value),
};

/**
 * Each JSON.stringify call costs more than the string it writes (a call into the runtime, ~0.3 µs
 * per string, and a record has ~40): strings are written quoted as they are, and kept in
 * `unchecked`, checked together at the end of the pass (canonicalText). Finite numbers are
 * written with String, which is what JSON.stringify writes for them.
 */
let unchecked = '';
const QUOTED: Style = {
  string(text) {
    unchecked += text;
    return `"${text}"`;
  },
  scalar(value) {
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    return JSON.stringify(value);
  },
};

/**
 * A text written by `write`, the same as `write(EXACT)` makes: it is written with QUOTED first,
 * and again with EXACT only when one of the strings it quoted needs escaping (rare: a quote, a
 * backslash, a control character, a character outside the BMP).
 */
export function canonicalText(write: (style: Style) => string): string {
  const outer = unchecked;
  unchecked = '';
  let text: string;
  let plain: boolean;
  try {
    text = write(QUOTED);
    plain = !ESCAPED.test(unchecked);
  } finally {
    // A getter that writes canonical JSON of its own in the middle of a pass does not mix its strings with ours.
    unchecked = outer;
  }
  return plain ? text : write(EXACT);
}

export type { Style as CanonicalStyle };

/**
 * JSON with object keys sorted, so equal values serialise to equal bytes (hashes, cache keys).
 * Written as one loop per level, without intermediate arrays of entries, strings and other
 * scalars serialised in place and keys quoted once: it runs for every record of the decision log.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  return canonicalText((style) => writeObject(value, style));
}

/** The canonical JSON of `value` in `style` (`undefined` for what JSON.stringify writes as nothing). */
export function writeCanonical(value: unknown, style: Style): string | undefined {
  if (typeof value === 'string') return style.string(value);
  if (value === null || typeof value !== 'object') return style.scalar(value);
  return writeObject(value, style);
}

function writeObject(value: object, style: Style): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      // Inside arrays JSON writes undefined as null; so does this.
      out += item === undefined ? 'null' : (writeCanonical(item, style) ?? 'null');
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 0) return '{}';
  sortKeys(keys);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${quoted(key)}:${writeCanonical(v, style) ?? 'null'}`;
  }
  return `${out}}`;
}

/** Keys this many or fewer are sorted here, by insertion; more by sort(). */
const INSERTION_SORT_MAX = 16;

/**
 * Sorts `keys` in place in the order sort() puts them in (UTF-16 code units, which `<` compares;
 * keys are distinct, so every correct sort gives the same order). Objects have a handful of keys,
 * often sorted already: sort() costs more to call than insertion sort takes (the first place
 * canonicalJson spent its time in a profile of the decision log).
 */
function sortKeys(keys: string[]): void {
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) {
    keys.sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const key = keys[i]!;
    let j = i - 1;
    if (keys[j]! < key) continue;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
}
