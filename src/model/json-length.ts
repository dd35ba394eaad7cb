/**
 * Whether JSON.stringify(value) is certainly at most `limit` characters long, without writing it:
 * a bound from the lengths of its strings and keys (an escape writes at most 6 characters for
 * one: `\u001f`), its numbers (at most 25: `-0.0000012345678901234567`) and its punctuation.
 * False when the bound exceeds the limit (the text may still fit) and for anything the bound does
 * not cover (a toJSON method, a bigint, a function, a symbol), so the caller then measures the
 * text itself. It stops as soon as the limit is passed, so a large value costs little.
 */
export function jsonLengthAtMost(value: unknown, limit: number): boolean {
  return bound(value, limit, false) <= limit;
}

/**
 * jsonLengthAtMost, closer: a string or key with nothing JSON escapes counts its own length (+2
 * quotes, exact), not six characters for each, and a safe integer its digits. One regex search per
 * string: for text a few times the limit's sixth (a ~1 KB tool result against a 2 KB summary) it
 * settles what the first bound cannot, for about half the cost of writing the text to measure it.
 * The same guarantee: true only when JSON.stringify(value) is at most `limit` characters long.
 */
export function jsonTextLengthAtMost(value: unknown, limit: number): boolean {
  return bound(value, limit, true) <= limit;
}

/** Characters one character of a string or key can take in JSON at most. */
const MAX_ESCAPE = 6;
/** The longest a finite number is written (`-0.0000012345678901234567`, `-1.7976931348623157e+308`). */
const MAX_NUMBER = 25;
const OVER = Number.POSITIVE_INFINITY;

/** What JSON.stringify escapes in a string: controls, `"`, `\` and surrogates (when lone). */
// eslint-disable-next-line no-control-regex -- the controls are what it looks for
const ESCAPED = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** The characters a string or key takes in JSON at most, without its quotes. */
const textBound = (text: string, closer: boolean): number => (closer && !ESCAPED.test(text) ? text.length : MAX_ESCAPE * text.length);

/**
 * An upper bound of the JSON length of `value`, or OVER once it passes `budget`; `closer` counts
 * unescaped text and safe integers exactly (jsonTextLengthAtMost) instead of at their most.
 */
function bound(value: unknown, budget: number, closer: boolean): number {
  switch (typeof value) {
    case 'string':
      return textBound(value, closer) + 2;
    case 'number':
      return closer && Number.isSafeInteger(value) ? integerLength(value) : MAX_NUMBER;
    case 'boolean':
      return value ? 4 : 5;
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
  // The opening bracket; each member counts its comma, the last one's stands for the closing one.
  let total = 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      total += bound(value[i], budget - total, closer) + 1;
      if (total > budget) return OVER;
    }
    return total === 1 ? 2 : total;
  }
  const record = value as Record<string, unknown>;
  // for…in, not Object.keys: no array per object. It also visits inherited enumerable keys,
  // which JSON leaves out: counting them only makes the bound larger, never wrong.
  for (const key in record) {
    // "key": value,
    total += textBound(key, closer) + 4 + bound(record[key], budget - total, closer);
    if (total > budget) return OVER;
  }
  return total === 1 ? 2 : total;
}

/** The characters of a safe integer as JSON writes it (`-0` as `0`). */
function integerLength(n: number): number {
  let length = n < 0 ? 2 : 1;
  for (let rest = Math.abs(n); rest >= 10; rest = Math.floor(rest / 10)) length++;
  return length;
}
