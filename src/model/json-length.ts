/**
 * Whether JSON.stringify(value) is certainly at most `limit` characters long, without writing it:
 * a bound from the lengths of its strings and keys (an escape writes at most 6 characters for
 * one: `\u001f`), its numbers (at most 25: `-0.0000012345678901234567`) and its punctuation.
 * False when the bound exceeds the limit (the text may still fit) and for anything the bound does
 * not cover (a toJSON method, a bigint, a function, a symbol), so the caller then measures the
 * text itself. It stops as soon as the limit is passed, so a large value costs little.
 */
export function jsonLengthAtMost(value: unknown, limit: number): boolean {
  return bound(value, limit) <= limit;
}

/** Characters one character of a string or key can take in JSON at most. */
const MAX_ESCAPE = 6;
/** The longest a finite number is written (`-0.0000012345678901234567`, `-1.7976931348623157e+308`). */
const MAX_NUMBER = 25;
const OVER = Number.POSITIVE_INFINITY;

/** An upper bound of the JSON length of `value`, or OVER once it passes `budget`. */
function bound(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return MAX_ESCAPE * value.length + 2;
    case 'number':
      return MAX_NUMBER;
    case 'boolean':
      return 5;
    case 'undefined':
      // Left out as a member, `null` as an array item.
      return 4;
    case 'object':
      break;
    default:
      return OVER;
  }
  if (value === null) return 4;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return OVER;
  let total = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      total += bound(value[i], budget - total) + 1;
      if (total > budget) return OVER;
    }
    return total;
  }
  const record = value as Record<string, unknown>;
  // for…in, not Object.keys: no array per object. It also visits inherited enumerable keys,
  // which JSON leaves out: counting them only makes the bound larger, never wrong.
  for (const key in record) {
    // "key": value,
    total += MAX_ESCAPE * key.length + 4 + bound(record[key], budget - total);
    if (total > budget) return OVER;
  }
  return total;
}

/** What JSON.stringify escapes in a string: controls, `"`, `\` and surrogates (when lone). */
// eslint-disable-next-line no-control-regex -- the controls are what it looks for
const ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * jsonLengthAtMost, closer: a string or key with nothing JSON escapes counts its own length (+2
 * quotes, exact), not six characters for each; a safe integer its digits, `true` its four, the
 * last member no comma. One regex search per string: for text a few times the limit's sixth (a
 * ~1 KB tool result against a 2 KB summary) it settles what the first bound cannot, for about half
 * the cost of writing the text to measure it. The same guarantee: true only when
 * JSON.stringify(value) is at most `limit` characters long.
 */
export function jsonTextLengthAtMost(value: unknown, limit: number): boolean {
  return closerBound(value, limit) <= limit;
}

function closerBound(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return stringBound(value) + 2;
    case 'number':
      return Number.isSafeInteger(value) ? integerLength(value) : MAX_NUMBER;
    case 'boolean':
      return value ? 4 : 5;
    case 'undefined':
      return 4;
    case 'object':
      break;
    default:
      return OVER;
  }
  if (value === null) return 4;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return OVER;
  // Each member counts its comma; the last has none.
  let total = 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      total += closerBound(value[i], budget - total) + 1;
      if (total > budget) return OVER;
    }
    return value.length === 0 ? 2 : total;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    total += stringBound(key) + 4 + closerBound(record[key], budget - total);
    if (total > budget) return OVER;
  }
  return total === 1 ? 2 : total;
}

const stringBound = (text: string): number => (ESCAPED.test(text) ? MAX_ESCAPE * text.length : text.length);

/** The characters of a safe integer as JSON writes it (`-0` as `0`). */
function integerLength(n: number): number {
  let length = n < 0 ? 2 : 1;
  for (let rest = Math.abs(n); rest >= 10; rest = Math.floor(rest / 10)) length++;
  return length;
}
