/**
 * A speed shortcut of the injection scan that must not change an answer: quote() (text-utils.ts)
 * returns `"…"` directly for printable ASCII with single inner spaces and no `"` or `\`, skipping
 * its two replaces and JSON.stringify. Its answers must be those of the general path, kept here
 * verbatim as it was before the shortcut. Whole scans before and after are compared by
 * bench/guards/compare-builds.js.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quote } from '../../src/guards/injection/text-utils.js';

// As it was in text-utils.ts before the shortcut.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;
function oldQuote(text: string, max = 60): string {
  let s = text.length > max * 4 ? text.slice(0, max * 4) : text;
  s = s.replace(UNPRINTABLE, '').replace(/\s+/g, ' ').trim();
  if (s.length > max) {
    let end = max;
    const code = s.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    s = `${s.slice(0, end)}…`;
  }
  return JSON.stringify(s);
}

/** Words, separators and the characters the shortcut must hand to the general path. */
const PIECES = [
  'ignore', 'all', 'previous', 'instructions', 'a', 'Z', '0', '~', '!', ':', '/', ' ', '  ', '\t', '\n', '\r\n', '"', '\\', '\u0000', '\u001f', '\u007f', '\u00a0', '\u00ad',
  '\u200b', '\u2028', '\ufeff', 'é', '…', '\ud83d\ude00', String.fromCharCode(0xd83d), String.fromCharCode(0xde00), '\udb40\udc41', '\u3000', 'x'.repeat(55), 'word '.repeat(13),
];
const texts = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((parts) => parts.join(''));

describe('quote() shortcut for plain ASCII', () => {
  it('gives the general path answer for generated texts and limits', () => {
    fc.assert(
      fc.property(texts, fc.constantFrom(undefined, 0, 1, 4, 8, 40, 50, 60, 120), (text, max) => {
        expect(quote(text, max)).toBe(oldQuote(text, max));
      }),
      { numRuns: 20_000 },
    );
  });

  it('gives the general path answer for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.constantFrom(' ', 'a', '"', '\\', '\n', '\u00e9'), maxLength: 300 })), fc.integer({ min: 0, max: 80 }), (text, max) => {
        expect(quote(text, max)).toBe(oldQuote(text, max));
      }),
      { numRuns: 20_000 },
    );
  });

  it('cuts long plain text at max and at a surrogate boundary as before', () => {
    for (const t of ['a'.repeat(300), `${'b '.repeat(40)}c`, `${'d'.repeat(59)}\ud83d\ude00tail`, ' lead', 'trail ', 'two  spaces', '']) expect(quote(t)).toBe(oldQuote(t));
  });
});
