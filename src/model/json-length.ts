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
