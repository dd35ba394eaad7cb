/**
 * scanValue moves each finding of a scanned string to that string's path (scan.ts atPath, written
 * field by field rather than as `{ ...f, offset, path }`, which cost 1.5–2.5 µs per finding). The
 * move must keep every field a finding has — a field added to InjectionFinding later must not be
 * dropped on the way — in the same order, with the offset made relative to the string: checked
 * against scanText on the same string, alone under one key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanText, scanValue } from '../../src/guards/injection/scan.js';

const corpus = (file: string): string[] =>
  readFileSync(join(__dirname, 'injection-corpus', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { text: string }).text);
const text = fc.oneof(fc.constantFrom(...corpus('malicious.jsonl')), fc.constantFrom(...corpus('benign.jsonl')), fc.lorem({ maxCount: 12 }));

describe('scanValue moves findings to their path', () => {
  it('every field of scanText’s finding, in order, plus the path (a string alone under one key)', () => {
    let compared = 0;
    fc.assert(
      fc.property(text, fc.boolean(), (t, classifier) => {
        const options = { cache: false, classifier };
        const alone = scanText(t, options);
        const valued = scanValue({ note: t }, { ...options, rootPath: 'args' });
        expect(valued.findings.map((f) => Object.keys(f))).toEqual(alone.findings.map((f) => [...Object.keys(f), 'path']));
        expect(valued.findings).toEqual(alone.findings.map((f) => ({ ...f, path: 'args.note' })));
        expect(valued.score).toBe(alone.score);
        compared += alone.findings.length;
      }),
      { numRuns: 400 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
