import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/audit/decision-log.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import type { JsonObject, JsonValue } from '../../src/model/json.js';
import { findIllFormedText, toWellFormed } from '../../src/model/well-formed.js';
import type { NewDecisionRecord } from '../../src/store/records.js';
import { SqliteStore } from '../../src/store/index.js';

/**
 * Defect 4 of issue 16: a record whose strings were not well-formed Unicode (a lone surrogate)
 * was hashed as received but stored by SQLite with U+FFFD, so the log looked tampered. Whatever a
 * surface hands the log, what is hashed must be what is stored and read back.
 */

const root = mkdtempSync(join(tmpdir(), 'warden-wellformed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

/** Any UTF-16 code unit sequence: well-formed characters, lone high and low surrogates, NUL. */
const unit = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), weight: 2 },
  { arbitrary: fc.constantFrom('\u0000', '\ufffd', '"', '\\', '\n'), weight: 1 },
);
const text = fc.string({ unit, maxLength: 12 });
/** As JSON.parse gives it (plain objects; JSON escapes carry lone surrogates through). */
const asParsed = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const json = fc.jsonValue({ stringUnit: unit, maxDepth: 3 }).map(asParsed) as fc.Arbitrary<JsonValue>;
const object = fc.dictionary(text, json, { maxKeys: 4 }).map(asParsed) as fc.Arbitrary<JsonObject>;

const entry: fc.Arbitrary<NewDecisionRecord> = fc.record(
  {
    id: fc.uuid().map((u) => `dec_${u}`),
    time: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    kind: fc.constantFrom('decision', 'outcome'),
    requestId: text,
    traceId: text,
    tenant: text,
    sessionId: text,
    agentId: text,
    userId: text,
    serviceId: text,
    action: text,
    resourceType: text,
    resourceId: text,
    effect: fc.constantFrom('allow', 'deny', 'require_approval'),
    reason: text,
    stage: text,
    policy: text,
    rule: text,
    policyVersion: text,
    bundle: text,
    obligations: fc.constant([]),
    outcome: fc.constantFrom('executed', 'denied', 'pending', 'error', 'allowed'),
    latencyUs: fc.nat(),
    args: object,
    resultSummary: json,
    approvalId: text,
    breakGlass: text,
    decisionId: text,
    details: object,
  },
  { requiredKeys: ['id', 'time', 'kind', 'requestId', 'tenant', 'agentId', 'action', 'resourceType', 'resourceId', 'effect', 'reason', 'stage', 'obligations', 'outcome', 'latencyUs', 'args', 'details'] },
) as fc.Arbitrary<NewDecisionRecord>;

describe('only well-formed Unicode enters the decision log', () => {
  it('arbitrary records (lone surrogates included) round-trip through the SQLite store and the chain verifies, also after a restart', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
        const file = join(root, `p${++files}.db`);
        // Without the WAL worker thread: each run opens its own file, and the test is about content.
        let store = SqliteStore.open(file, { backgroundCheckpoints: false });
        const log = await DecisionLog.open(store);
        const written = await Promise.all(entries.map((e) => log.append(e).durable));
        await log.close();
        // What is hashed is what is stored: the records read back are exactly the chained ones.
        expect(await store.scanDecisions(0, 100)).toStrictEqual(written);
        for (const record of written) expect(findIllFormedText(record)).toBeUndefined();
        // Every string is the one given, made well-formed (nothing else is changed).
        written.forEach((record, i) => {
          const { seq: _s, prevHash: _p, hash: _h, ...content } = record;
          expect(content).toStrictEqual(toWellFormed(entries[i]));
        });
        expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: entries.length });
        await store.close();
        store = SqliteStore.open(file, { backgroundCheckpoints: false });
        expect(await verifyDecisionLog(store)).toMatchObject({ ok: true, checked: entries.length });
        await store.close();
      }),
      { numRuns: 60 },
    );
  });

  it('findIllFormedText names the path of a lone surrogate in a value or a key, and nothing else', () => {
    expect(findIllFormedText({ tool: 'x\udfff' }, 'body')).toBe('body.tool holds a lone surrogate (U+DFFF at character 1)');
    expect(findIllFormedText({ a: [{ b: 'ok' }, '\ud800z'] })).toBe('$.a[1] holds a lone surrogate (U+D800 at character 0)');
    expect(findIllFormedText({ args: { ['k\udc00']: 1 } })).toBe('a key of $.args holds a lone surrogate (U+DC00 at character 1)');
    expect(findIllFormedText({ emoji: '😀', pair: '\ud83d\ude00', replacement: '\ufffd', nul: '\u0000' })).toBeUndefined();
    fc.assert(fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => findIllFormedText(v) === undefined));
  });

  it('toWellFormed replaces only lone surrogates, keeps key order, and copies only what changes', () => {
    const clean = { a: 'x', b: [1, { c: 'y' }] };
    expect(toWellFormed(clean)).toBe(clean);
    const dirty = { a: 'x', b: ['\udfff', { c: 'y' }], ['d\ud800']: 'z' };
    const fixed = toWellFormed(dirty);
    expect(fixed).toStrictEqual({ a: 'x', b: ['\ufffd', { c: 'y' }], 'd\ufffd': 'z' });
    expect(Object.keys(fixed)).toEqual(['a', 'b', 'd\ufffd']);
    expect(fixed.b[1]).toBe(dirty.b[1]);
    expect(dirty.b[0]).toBe('\udfff');
    // A "__proto__" key is data, never the prototype.
    const proto = toWellFormed(JSON.parse('{"__proto__": {"x": "\\udfff"}}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });
});
