import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import { runTestSuites, type CaseResult } from '../../../policy/test-suite.js';
import { formatDecision } from '../format-decision.js';
import { toJunit } from '../junit.js';
import { EXIT, UsageError } from '../usage-error.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';

export interface TestOptions {
  format?: string;
  verbose?: boolean;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/** `warden test <dir>`: runs every `*.test.yaml` suite against the policies beside it. */
export async function testCommand(dir: string, options: TestOptions): Promise<number> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'junit') throw new UsageError(`--format must be text or junit, not "${format}"`);
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
  if (format === 'junit') console.log(toJunit(run.results));
  else {
    for (const r of run.results) printCase(r, options.verbose === true);
    console.log(`\n${passed} passed, ${failed} failed`);
  }
  return failed > 0 || run.diagnostics.length > 0 ? EXIT.problems : EXIT.ok;
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
