import { z } from 'zod';
import { parseActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import { EFFECTS } from '../model/effect.js';
import { isJsonObject, type JsonValue } from '../model/json.js';
import type { Obligation } from '../model/obligation.js';
import { canonicalJson } from '../model/canonical-json.js';
import type { PolicySource } from './compile.js';
import { decide } from './decide.js';
import type { Diagnostic } from '../lib/diagnostic.js';
import { mergeObligations, parseObligation } from './obligation-parse.js';
import type { PolicySet } from './policy-set.js';
import { firstLine } from '../lib/diagnostic.js';
import { YamlSource } from '../lib/source-map.js';

/**
 * `*.test.yaml`: scenarios that pin down what the policies decide. A suite's `defaults.request`
 * is merged (deeply) under every case's request, so cases state only what is special about them.
 */
const caseSchema = z.strictObject({
  name: z.string().min(1),
  now: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date-time').optional(),
  request: z.record(z.string(), z.unknown()).default({}),
  expect: z.strictObject({
    effect: z.enum(EFFECTS),
    rule: z.string().optional(),
    reason: z.string().optional(),
    obligations: z.array(z.record(z.string(), z.unknown())).optional(),
  }),
});

const suiteSchema = z.strictObject({
  suite: z.string().optional(),
  defaults: z.strictObject({ request: z.record(z.string(), z.unknown()).optional(), now: z.string().optional() }).optional(),
  cases: z.array(caseSchema).min(1),
});

export interface CaseResult {
  suite: string;
  file: string;
  line: number;
  name: string;
  passed: boolean;
  failures: string[];
  decision?: Decision;
}

export interface SuiteRun {
  results: CaseResult[];
  /** Problems with the suite files themselves (unreadable YAML, unknown fields, bad requests). */
  diagnostics: Diagnostic[];
}

export function runTestSuites(policySet: PolicySet, sources: readonly PolicySource[]): SuiteRun {
  const run: SuiteRun = { results: [], diagnostics: [] };
  for (const source of sources) runSuite(policySet, new YamlSource(source.file, source.text), run);
  return run;
}

function runSuite(policySet: PolicySet, source: YamlSource, run: SuiteRun): void {
  const problem = (path: ReadonlyArray<PropertyKey>, message: string) =>
    run.diagnostics.push({ file: source.file, ...source.locate(path), severity: 'error', code: 'schema', message });
  if (source.document.errors.length > 0) {
    const e = source.document.errors[0]!;
    run.diagnostics.push({ file: source.file, ...source.position(e.pos[0]), severity: 'error', code: 'yaml', message: firstLine(e.message) });
    return;
  }
  const parsed = suiteSchema.safeParse(source.document.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const extra = issue.code === 'unrecognized_keys' ? ` (unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')})` : '';
      problem(issue.path, `${issue.path.join('.') || 'suite'}: ${issue.message}${extra}`);
    }
    return;
  }
  const suite = parsed.data;
  const suiteName = suite.suite ?? source.file;
  suite.cases.forEach((testCase, i) => {
    const path = ['cases', i];
    const line = source.locate(path).line;
    const request = parseActionRequest(deepMerge(suite.defaults?.request ?? {}, testCase.request));
    if (!request.ok) {
      problem([...path, 'request'], `case "${testCase.name}": invalid request: ${request.errors.join('; ')}`);
      run.results.push({ suite: suiteName, file: source.file, line, name: testCase.name, passed: false, failures: [`invalid request: ${request.errors.join('; ')}`] });
      return;
    }
    const expected = expectedObligations(testCase.expect.obligations);
    if (typeof expected === 'string') {
      problem([...path, 'expect', 'obligations'], `case "${testCase.name}": ${expected}`);
      return;
    }
    const at = testCase.now ?? suite.defaults?.now;
    const decision = decide(policySet, request.value, { now: at ? new Date(at) : new Date(), explain: true });
    const failures = compare(decision, testCase.expect, expected);
    run.results.push({ suite: suiteName, file: source.file, line, name: testCase.name, passed: failures.length === 0, failures, decision });
  });
}

function expectedObligations(items: Array<Record<string, unknown>> | undefined): Obligation[] | undefined | string {
  if (!items) return undefined;
  const list: Obligation[] = [];
  for (const item of items) {
    const parsed = parseObligation(item);
    if (!parsed.ok) return parsed.message;
    list.push(parsed.obligation);
  }
  return mergeObligations([list]);
}

function compare(
  decision: Decision,
  expect: z.output<typeof caseSchema>['expect'],
  obligations: Obligation[] | undefined,
): string[] {
  const failures: string[] = [];
  if (decision.effect !== expect.effect) {
    failures.push(`expected effect ${expect.effect}, got ${decision.effect} (${decision.reason})`);
  }
  if (expect.rule !== undefined) {
    const actual = decision.rule ? `${decision.policy}/${decision.rule}` : '(default deny)';
    const matches = expect.rule.includes('/') ? actual === expect.rule : decision.rule === expect.rule;
    if (!matches) failures.push(`expected rule ${expect.rule}, got ${actual}`);
  }
  if (expect.reason !== undefined && !decision.reason.includes(expect.reason)) {
    failures.push(`expected reason containing "${expect.reason}", got "${decision.reason}"`);
  }
  if (obligations && canonicalJson(obligations) !== canonicalJson(decision.obligations)) {
    failures.push(`expected obligations ${JSON.stringify(obligations)}, got ${JSON.stringify(decision.obligations)}`);
  }
  return failures;
}

/** Objects merge key by key; anything else in `over` replaces what is in `base`. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : (value as JsonValue);
  }
  return out;
}
