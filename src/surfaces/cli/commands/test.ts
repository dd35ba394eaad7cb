import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import { runTestSuites, type CaseResult } from '../../../policy/test-suite.js';
import { formatDecision } from '../format-decision.js';
import { toJunit } from '../junit.js';
import { EXIT, UsageError } from '../usage-error.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';
import { ruleCoverage, type CoverageReport } from '../../../policy/analysis/coverage.js';
import { formatTable } from '../text-output.js';

export interface TestOptions {
  format?: string;
  verbose?: boolean;
  /** Report which rules no case exercises. */
  coverage?: boolean;
  /** Fail when total coverage is below this percentage (implies coverage). */
  min?: string;
  json?: boolean;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/** `warden test <dir>`: runs every `*.test.yaml` suite against the policies beside it. */
export async function testCommand(dir: string, options: TestOptions): Promise<number> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'junit') throw new UsageError(`--format must be text or junit, not "${format}"`);
  const min = options.min === undefined ? undefined : Number(options.min);
  if (min !== undefined && (options.min!.trim() === '' || !Number.isFinite(min) || min < 0 || min > 100)) throw new UsageError(`--min must be a percentage from 0 to 100, not "${options.min}"`);
  if (options.json && format === 'junit') throw new UsageError('--json and --format junit are alternatives; pick one');
  const { policySet, diagnostics, folder } = await loadPolicyFolder(dir, guardPolicyOptions(options.defaultGuards !== false));
  if (!policySet) {
    console.error(`error: the policies in ${dir} do not load:`);
    for (const d of diagnostics) console.error(formatDiagnostic(d));
    return EXIT.problems;
  }
  if (folder.tests.length === 0) {
    console.error(`error: no test suites (*.test.yaml) in ${dir}`);
    return EXIT.problems;
  }
  const run = runTestSuites(policySet, folder.tests);
  for (const d of run.diagnostics) console.error(formatDiagnostic(d));
  const passed = run.results.filter((r) => r.passed).length;
  const failed = run.results.length - passed;
  const coverage = options.coverage || min !== undefined ? ruleCoverage(policySet, run.results.map((r) => ({ name: `${r.suite} › ${r.name}`, decision: r.decision }))) : undefined;
  const belowMin = coverage !== undefined && min !== undefined && coverage.percent < min;
  if (options.json) {
    const cases = run.results.map(({ decision, ...r }) => ({ ...r, effect: decision?.effect, rule: decision?.rule ? `${decision.policy}/${decision.rule}` : undefined }));
    console.log(JSON.stringify({ passed, failed, cases, diagnostics: run.diagnostics, ...(coverage ? { coverage: { ...coverage, min, belowMin } } : {}) }, null, 2));
  } else if (format === 'junit') console.log(toJunit(run.results));
  else {
    for (const r of run.results) printCase(r, options.verbose === true);
    console.log(`\n${passed} passed, ${failed} failed`);
    if (coverage) printCoverage(coverage, min);
  }
  return failed > 0 || run.diagnostics.length > 0 || belowMin ? EXIT.problems : EXIT.ok;
}

function printCoverage(coverage: CoverageReport, min: number | undefined): void {
  console.log('\nrule coverage (a rule is covered when a case\'s decision matched it: see warden test --help)');
  const rows = coverage.policies.map((p) => [p.policy, `${p.covered}/${p.rules}`, `${p.percent}%`, p.uncovered.map((u) => u.rule).join(', ') || '-']);
  console.log(formatTable(['POLICY', 'RULES', 'COVERED', 'NOT EXERCISED'], rows));
  for (const p of coverage.policies) for (const u of p.uncovered) console.log(`  not exercised: ${u.key} (${u.file}:${u.line})`);
  const excluded = coverage.excluded.length ? ` (built-in guard policies not counted: ${coverage.excluded.join(', ')})` : '';
  console.log(`total: ${coverage.covered}/${coverage.rules} rules, ${coverage.percent}%${excluded}`);
  if (min !== undefined) console.log(coverage.percent < min ? `FAIL: coverage ${coverage.percent}% is below --min ${min}%` : `coverage ${coverage.percent}% meets --min ${min}%`);
}

function printCase(r: CaseResult, verbose: boolean): void {
  console.log(`${r.passed ? 'PASS' : 'FAIL'}  ${r.suite} › ${r.name}`);
  if (!r.passed) {
    console.log(`      at ${r.file}:${r.line}`);
    for (const f of r.failures) console.log(`      ${f}`);
  }
  if (verbose && r.decision) console.log(indent(formatDecision({ ...r.decision, explanation: undefined })));
}

const indent = (text: string) => text.replace(/^/gm, '      ');
