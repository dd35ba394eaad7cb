/**
 * layers.ts's ROT13 layer (issue 20's speed work): rot13(text, limit) rotates the UTF-16 units of
 * the text's first `limit` units by a byte walk, where it was `text.replace(/[a-z]/gi, callback)`
 * over the whole text, sliced afterwards by report() to DECODE_LIMIT. The two must give the same
 * string for every text (ASCII, other scripts, astral characters, lone surrogates, characters
 * that case-fold to ASCII letters such as U+017F and U+212A) and every limit.
 * Equality of whole scans before and after is checked by bench/guards/compare-builds.js.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rot13 } from '../../src/guards/injection/layers.js';

// As it was in layers.ts (the whole text rotated, then sliced by report()).
const OLD_ROT13 = (s: string): string => s.replace(/[a-z]/gi, (c) => String.fromCharCode(((c.charCodeAt(0) & 31) + 12) % 26 + (c.charCodeAt(0) & 96) + 1));

/** Characters around the ones the rotation treats specially: ASCII letter bounds, letters with a high byte, surrogates, case-folding look-alikes. */
// Lone surrogates made by char code, not written as literals: compare-builds.js reads this file's string literals as texts (and URL-encodes them).
const HI = String.fromCharCode(0xd83d);
const LO = String.fromCharCode(0xde00);
const SPECIAL = ['@', 'A', 'M', 'N', 'Z', '[', '`', 'a', 'm', 'n', 'z', '{', '\u0141', '\u0161', '\u017f', '\u212a', '\u0441', HI, LO, HI + LO, '\u4e00', '\uff41', '\u0000', '\n', ' '];
const unit = fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)));
const text = fc.array(unit, { maxLength: 300 }).map((a) => a.join(''));

describe('layers.ts rot13', () => {
  it('equals the regex rotation over the whole text, sliced to the limit', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 400 }), (s, limit) => {
        expect(rot13(s, limit)).toBe(OLD_ROT13(s).slice(0, limit));
        expect(rot13(s)).toBe(OLD_ROT13(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('equals it on every UTF-16 unit and past DECODE_LIMIT', () => {
    let all = '';
    for (let c = 0; c <= 0xffff; c++) all += String.fromCharCode(c);
    expect(rot13(all)).toBe(OLD_ROT13(all));
    const long = `Vtaber nyy cerivbhf vafgehpgvbaf. \u0441${HI}${LO} ${LO}`.repeat(400);
    expect(rot13(long, 8192)).toBe(OLD_ROT13(long).slice(0, 8192));
  });
});
