// Frozen copy of src/audit/luhn.ts at the commit before the redact-results speed-up (only the import of
// key-words.js re-pointed): the oracle of test/audit/redact-equivalence.property.test.ts. Do not edit.
/**
 * Payment card numbers for the redactor: the Luhn (mod 10) check, and the search for card numbers
 * inside a run of digit groups such as `4111 1111 1111 1111` or `12 4111-1111-1111-1111`.
 */

/** Luhn check of a string of ASCII digits (no separators). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export const CARD_MIN_DIGITS = 13;
export const CARD_MAX_DIGITS = 19;

/**
 * Masks the card numbers inside `run`, a run of digit groups separated by single spaces or dashes
 * (as matched by the card detector). A card is a window of whole consecutive groups holding 13–19
 * digits in total, separated by one kind of separator only, that passes the Luhn check. Every
 * group covered by some such window is masked, and adjacent masked groups become one marker, so no
 * fragment of a card survives next to its marker. `skipFirst` / `skipLast` exclude a group glued
 * to letters (part of a hex id or a decimal, not a card). A single group of more than 19 digits is
 * never a card.
 *
 * Linear in the length of the run: at most 19 windows start at each group, and the Luhn sum of a
 * window is kept incrementally while it grows.
 */
export function maskCardsInRun(run: string, skipFirst: boolean, skipLast: boolean, marker: string): string {
  const groups: string[] = [];
  const seps: string[] = []; // seps[i] precedes groups[i]; seps[0] is ''
  let start = 0;
  for (let i = 0; i <= run.length; i++) {
    const c = i < run.length ? run.charCodeAt(i) : -1;
    if (c === 32 || c === 45 || c === -1) {
      groups.push(run.slice(start, i));
      seps.push(groups.length === 1 ? '' : run[start - 1]!);
      start = i + 1;
    }
  }
  const first = skipFirst ? 1 : 0;
  const last = skipLast ? groups.length - 2 : groups.length - 1;
  const covered = new Uint8Array(groups.length);
  let any = false;
  for (let i = first; i <= last; i++) {
    // Sums of the window's digits with doubling applied to even (resp. odd) positions from the left.
    let sumEven = 0;
    let sumOdd = 0;
    let length = 0;
    let sep = '';
    for (let j = i; j <= last; j++) {
      if (j > i) {
        if (sep === '') sep = seps[j]!;
        else if (seps[j] !== sep) break;
      }
      const g = groups[j]!;
      if (length + g.length > CARD_MAX_DIGITS) break;
      for (let k = 0; k < g.length; k++) {
        const d = g.charCodeAt(k) - 48;
        const dd = d * 2 > 9 ? d * 2 - 9 : d * 2;
        if ((length + k) % 2 === 0) {
          sumEven += dd;
          sumOdd += d;
        } else {
          sumEven += d;
          sumOdd += dd;
        }
      }
      length += g.length;
      // The rightmost digit is never doubled: for an even length the doubled positions are the
      // even ones from the left, for an odd length the odd ones.
      if (length >= CARD_MIN_DIGITS && (length % 2 === 0 ? sumEven : sumOdd) % 10 === 0) {
        for (let k = i; k <= j; k++) covered[k] = 1;
        any = true;
      }
    }
  }
  if (!any) return run;
  let out = '';
  for (let i = 0; i < groups.length; i++) {
    if (covered[i] && i > 0 && covered[i - 1]) continue; // inside a masked span
    out += seps[i]!;
    out += covered[i] ? marker : groups[i]!;
  }
  return out;
}
