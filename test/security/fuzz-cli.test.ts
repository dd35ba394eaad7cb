/**
 * Issue 16, "Tests that stay in the suite": a bounded malformed-input fuzz of the CLI's inputs.
 * Spawning the CLI 2,000 times would take minutes, so its input parsers run in process — exactly
 * the steps `warden eval --request <file>` takes (the file's bytes decoded as UTF-8, parseJson,
 * parseActionRequest, the PDP on the example policies, the text or JSON output), and the option
 * parsers of the operational commands (instants, durations, counts) — with 2,000+ cases each from
 * a fixed seed; then the real CLI, spawned, for a sample of them.
 *
 * A parser either answers or throws an Error that says what was wrong (a UsageError for options:
 * exit 2); nothing else escapes; the real CLI exits 1 or 2 with one `error: …` line and no stack
 * trace.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardPolicyOptions } from '../../src/guards/default-policies.js';
import { parseDuration, parseInstant as instantOf } from '../../src/lib/duration.js';
import { parseActionRequest } from '../../src/model/action-request.js';
import { EFFECTS } from '../../src/model/effect.js';
import { decide } from '../../src/policy/decide.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import type { PolicySet } from '../../src/policy/index.js';
import { openStore } from '../../src/store/open-store.js';
import { formatDecision } from '../../src/surfaces/cli/format-decision.js';
import { MAX_INPUT_BYTES, parseJson, readInput } from '../../src/surfaces/cli/read-input.js';
import { parseCount, parseInstant } from '../../src/surfaces/cli/text-output.js';
import { UsageError } from '../../src/surfaces/cli/usage-error.js';
import { CLI, runWarden } from '../cli/processes.js';
import { EXAMPLE_POLICIES } from '../pipeline/harness.js';
import { actionRequest } from './fixture.js';
import { anyString, applyMutation, cases, deep, FUZZ_SEED, mutation, pool } from './malformed.js';

const CASES = 2_400;
const NOW = Date.parse('2026-11-02T10:00:00Z');

/** Valid requests of the example policies' kinds, for the mutations to break. */
const BASES: unknown[] = [
  actionRequest('support-agent', 'acme-corp', 'issue_refund', { order_id: 'o-1', amount: 250 }, { actor: { agent: { id: 'refund-agent', roles: ['finance'], trust: 'medium' } } }),
  actionRequest('support-agent', 'acme-corp', 'read_orders', { customer_id: 'c-1', limit: 5000 }, { resource: { type: 'tool', id: 'read_orders', tenant: 'acme-corp' } }),
  actionRequest('coder', 'acme-corp', 'read_file', { path: '/workspace/atlas/README.md' }, {
    actor: { agent: { id: 'coder', roles: ['developer'], trust: 'medium' }, user: { id: 'bob', roles: ['developer'] } },
    relationships: [{ subject: 'user:bob', relation: 'member', object: 'project:atlas' }],
  }),
  actionRequest('ops-agent', 'acme-corp', 'restart_service', { service: 'billing' }, { actor: { agent: { id: 'ops-agent', roles: ['ops'], trust: 'high' } }, context: { environment: 'development' } }),
  actionRequest('support-agent', 'acme-corp', 'export_csv', {}, { session: { callsUsed: 3, spend: 10, tainted: true, recent: [{ tool: 'read_orders' }] } }),
];

const evalCase = fc.record({ base: fc.nat(BASES.length - 1), m: mutation, explain: fc.boolean(), json: fc.boolean() });

let policySet: PolicySet;

beforeAll(async () => {
  const loaded = await loadPolicyFolder(EXAMPLE_POLICIES, guardPolicyOptions(true));
  expect(loaded.policySet, JSON.stringify(loaded.diagnostics)).toBeDefined();
  policySet = loaded.policySet!;
}, 60_000);

describe('warden eval --request: the request file, in process', () => {
  it(`reads ${CASES} malformed request files (seed ${FUZZ_SEED}) to a decision or a clear error`, () => {
    const failures: string[] = [];
    const outcomes = { invalidJson: 0, invalidRequest: 0, decided: 0 };
    for (const [index, c] of cases(evalCase, CASES, 3).entries()) {
      const bytes = applyMutation(BASES[c.base], c.m);
      const wrong = (what: string) => failures.push(`#${index} ${what}: ${JSON.stringify(c).slice(0, 200)} file ${JSON.stringify(bytes.toString('utf8').slice(0, 200))}`);
      // What evalCommand does with the file, step by step.
      const text = bytes.toString('utf8');
      let input: unknown;
      try {
        input = parseJson(text, 'request.json');
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('request.json is not valid JSON: ')) wrong(`parseJson threw ${String(e)}`);
        outcomes.invalidJson++;
        continue;
      }
      let parsed: ReturnType<typeof parseActionRequest>;
      try {
        parsed = parseActionRequest(input);
      } catch (e) {
        wrong(`parseActionRequest threw ${String(e)}`);
        continue;
      }
      if (!parsed.ok) {
        if (parsed.errors.length === 0 || parsed.errors.some((e) => typeof e !== 'string' || e.trim() === '')) wrong(`errors without a message: ${JSON.stringify(parsed.errors)}`);
        outcomes.invalidRequest++;
        continue;
      }
      try {
        const decision = decide(policySet, { ...parsed.value, requestId: parsed.value.requestId ?? `req-${index}` }, { now: new Date(NOW), explain: c.explain });
        if (!EFFECTS.includes(decision.effect) || typeof decision.reason !== 'string' || decision.reason === '') wrong(`a decision without an effect or a reason: ${JSON.stringify(decision).slice(0, 200)}`);
        const printed = c.json ? JSON.stringify(decision, null, 2) : formatDecision(decision);
        if (typeof printed !== 'string' || printed === '') wrong('nothing to print');
        outcomes.decided++;
      } catch (e) {
        wrong(`the PDP threw ${String(e)}`);
      }
    }
    expect(failures.slice(0, 12), `${failures.length} failures`).toEqual([]);
    // Every stage met its share of the inputs.
    expect(outcomes.invalidJson, JSON.stringify(outcomes)).toBeGreaterThan(CASES / 20);
    expect(outcomes.invalidRequest, JSON.stringify(outcomes)).toBeGreaterThan(CASES / 10);
    expect(outcomes.decided, JSON.stringify(outcomes)).toBeGreaterThan(CASES / 10);
  });

  it('readInput refuses a file over its limit and reports what it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cli-fuzz-'));
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, MAX_INPUT_BYTES + 1);
    await expect(readInput(big)).rejects.toThrow(`${big} is ${MAX_INPUT_BYTES + 1} bytes; the limit is ${MAX_INPUT_BYTES}`);
    await expect(readInput(dir)).rejects.toThrow(/EISDIR/);
    await expect(readInput(join(dir, 'missing.json'))).rejects.toThrow(/ENOENT/);
    // Odd bytes are read (invalid UTF-8 becomes U+FFFD, as Buffer#toString decodes it); what is
    // not JSON then is refused by parseJson, naming the file.
    const outcomes: string[] = [];
    for (const bytes of [[0xff, 0xfe, 0x7b, 0x7d], [0xef, 0xbb, 0xbf, 0x7b, 0x7d], [0xc0, 0x80], [0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]]) {
      const file = join(dir, 'odd.json');
      writeFileSync(file, Buffer.from(bytes));
      const text = await readInput(file);
      try {
        outcomes.push(`parsed ${JSON.stringify(parseJson(text, file))}`);
      } catch (e) {
        outcomes.push((e as Error).message.startsWith(`${file} is not valid JSON: `) ? 'refused' : `threw ${String(e)}`);
      }
    }
    expect(outcomes).toEqual(['refused', 'refused', 'refused', `parsed ${JSON.stringify({ '\ufffd\ufffd\ufffd': 1 })}`]);
  });
});

describe('operational options: instants, durations and counts, in process', () => {
  const optionValue = fc.oneof(
    { arbitrary: anyString, weight: 4 },
    { arbitrary: fc.stringMatching(/^(\d{1,25}d)?(\d{1,25}h)?(\d{1,25}m)?(\d{1,25}s)?(\d{1,25}ms)?$/), weight: 3 },
    { arbitrary: fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()), weight: 2 },
    { arbitrary: fc.constantFrom('1h', '30m', '2d', '0s', '', ' ', '1h ', ' 1h', '1H', '-1h', '1.5h', '1h30', 'h', 'ms', '1e3s', '2026-11-02', '2026-11-02T10:00:00Z', '2026-13-45T99:99:99Z', '2026-02-30', '0000-00-00', '+275760-09-13T00:00:00.000Z', '9'.repeat(400) + 'd', '١٢h', '１h'), weight: 2 },
  );

  it(`parses ${CASES} malformed --since / --until / --for / -n values (seed ${FUZZ_SEED}) or says which option is wrong`, () => {
    const failures: string[] = [];
    for (const [index, text] of cases(optionValue, CASES, 4).entries()) {
      const wrong = (what: string) => failures.push(`#${index} ${JSON.stringify(text).slice(0, 120)}: ${what}`);
      try {
        const ms = parseDuration(text);
        // (Infinity, for digits too many to represent, is a defect of its own: see the test below.)
        if (ms !== undefined && !(ms >= 0 && (Number.isInteger(ms) || ms === Infinity))) wrong(`parseDuration gave ${ms}`);
        const at = instantOf(text, NOW);
        if (at !== undefined && Number.isNaN(at)) wrong('parseInstant gave NaN');
        if (ms !== undefined && at !== NOW - ms) wrong(`a duration back from now is ${NOW - ms}, not ${at}`);
        if (ms === undefined && at !== undefined && at !== Date.parse(text)) wrong(`an ISO instant is ${Date.parse(text)}, not ${at}`);
      } catch (e) {
        wrong(`the lib parsers threw ${String(e)}`);
      }
      for (const [name, run] of [
        ['--since', () => parseInstant('--since', text, NOW)],
        ['-n', () => parseCount('-n', text, 1, 100_000)],
      ] as const) {
        try {
          const value = run();
          if (typeof value !== 'number' || Number.isNaN(value)) wrong(`${name} gave ${String(value)}`);
        } catch (e) {
          if (!(e instanceof UsageError) || !e.message.startsWith(`${name} `)) wrong(`${name} threw ${String(e)} (a usage error naming the option was expected)`);
        }
      }
    }
    expect(failures.slice(0, 12), `${failures.length} failures`).toEqual([]);
  });

  /**
   * DEFECT (small): parseDuration turns a run of digits too long for a double into Infinity
   * instead of refusing it: "999…9d" (400 digits) is a duration of Infinity ms. The config schema
   * takes it as valid (approvals.sweep_interval, compliance.window, break_glass.max_duration…),
   * `--since` becomes -Infinity, and a timer given Infinity fires every millisecond (Node clamps
   * delays it cannot represent to 1 ms — as it does any interval over 24.8 days).
   */
  it('a duration too long to represent is not a duration', () => {
    for (const text of ['9'.repeat(400) + 'd', '9'.repeat(320) + 'ms', '1' + '0'.repeat(400) + 's']) {
      const ms = parseDuration(text);
      expect({ text: text.slice(0, 12), finite: ms === undefined || Number.isFinite(ms) }).toEqual({ text: text.slice(0, 12), finite: true });
    }
  });
});

describe('the real CLI, for a sample of the same inputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-sample-'));
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const valid = JSON.stringify(BASES[0]);
  const db = join(dir, 'empty.db');

  beforeAll(async () => {
    const store = await openStore(`sqlite:${db}`);
    await store.close();
    mkdirSync(join(dir, 'a-directory'));
  }, 60_000);

  const EVAL_INPUTS: Array<[string, () => string]> = [
    ['truncated JSON', () => file('truncated.json', valid.slice(0, 40))],
    ['a lone surrogate escape in a key', () => file('surrogate.json', valid.replace('"tenant"', '"ten\\udfffant"'))],
    ['nested 20,000 deep', () => file('deep.json', `${'['.repeat(20_000)}${']'.repeat(20_000)}`)],
    ['nested 2,000 deep in args', () => file('deep-args.json', JSON.stringify({ ...(BASES[0] as object), args: deep(2_000, 'object') }))],
    ['a __proto__ key', () => file('proto.json', valid.replace('{', '{"__proto__":{"admin":true},'))],
    ['a byte-order mark', () => file('bom.json', `\ufeff${valid}`)],
    ['invalid UTF-8', () => file('bytes.json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
    ['an array', () => file('array.json', '[1,2,3]')],
    ['an empty file', () => file('empty.json', '')],
    ['a 2 MB string', () => file('huge.json', JSON.stringify({ ...(BASES[0] as object), args: { note: 'x'.repeat(2_000_000) } }))],
    ['a directory', () => join(dir, 'a-directory')],
    ['a missing file', () => join(dir, 'missing.json')],
  ];

  it.each(EVAL_INPUTS)('warden eval --request with %s exits 1 with one error line', async (_name, make) => {
    const run = await runWarden(['eval', '--policies', EXAMPLE_POLICIES, '--request', make()]);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('warden eval --request - refuses malformed standard input the same way', async () => {
    for (const input of [valid.slice(0, 30), '\u0000\u0001', `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`]) {
      const child = spawn(process.execPath, [CLI, 'eval', '--policies', EXAMPLE_POLICIES, '--request', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdin.end(input);
      expect({ code: await code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr).toMatch(/^error: (the request on standard input is not valid JSON|invalid request)/);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('warden eval decides the valid request, and refuses a bad --now', async () => {
    const request = file('valid.json', valid);
    const ok = await runWarden(['eval', '--policies', EXAMPLE_POLICIES, '--request', request, '--now', '2026-11-02T10:00:00Z', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ effect: 'require_approval' });
    const bad = await runWarden(['eval', '--policies', EXAMPLE_POLICIES, '--request', request, '--now', '2026-13-45']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --now/);
  });

  it('the operational commands refuse malformed options with exit 2, naming the option', async () => {
    const runs: Array<[string[], RegExp]> = [
      [['audit', 'export', '--db', db, '--since', 'yesterday'], /^error: --since "yesterday"/],
      [['audit', 'export', '--db', db, '--until', '2026-13-45T99:99:99Z'], /^error: --until /],
      [['audit', 'export', '--db', db, '--effect', 'maybe'], /^error: --effect must be one of/],
      [['audit', 'tail', '--db', db, '-n', '1e3'], /^error: -n must be a whole number/],
    ];
    const results: string[] = [];
    await pool(runs, 2, async ([args, expected]) => {
      const run = await runWarden(args);
      results.push(`${args.slice(0, 2).join(' ')} ${args.slice(-2).join(' ')}: exit ${run.code}${expected.test(run.stderr) && !/\n\s+at /.test(run.stderr) ? '' : ` ${run.stderr.slice(0, 200)}`}`);
    });
    expect(results.sort()).toEqual(runs.map(([args]) => `${args.slice(0, 2).join(' ')} ${args.slice(-2).join(' ')}: exit 2`).sort());
  });
});
