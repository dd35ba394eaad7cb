import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../../policy/diagnostic.js';
import { loadPolicyFolder } from '../../policy/load.js';
import { runTestSuites } from '../../policy/test-suite.js';
import { formatObligation } from '../format-decision.js';
import { EXIT } from '../usage-error.js';

/** The example policies shipped with the package (`examples/policies`). */
export const EXAMPLE_POLICIES = fileURLToPath(new URL('../../../examples/policies', import.meta.url));

/**
 * `warden demo`: plays the example scenarios through the decision engine and shows what was
 * decided and why. Exit 0 only if every scenario got its expected decision.
 */
export async function demoCommand(): Promise<number> {
  const { policySet, diagnostics, folder } = await loadPolicyFolder(EXAMPLE_POLICIES);
  if (!policySet) {
    for (const d of diagnostics) console.error(formatDiagnostic(d));
    return EXIT.problems;
  }
  console.log(`Warden demo: ${policySet.policies.length} example policies, ${policySet.rules.length} rules`);
  console.log(`bundle ${policySet.bundle}\n`);
  const run = runTestSuites(policySet, folder.tests);
  let suite = '';
  for (const r of run.results) {
    if (r.suite !== suite) console.log(`── ${(suite = r.suite)}`);
    const d = r.decision;
    console.log(`${r.passed ? '✔' : '✘'} ${r.name}`);
    if (d) {
      console.log(`    → ${d.effect}: ${d.reason}`);
      if (d.obligations.length) console.log(`      obligations: ${d.obligations.map(formatObligation).join('; ')}`);
      if (d.approval) console.log(`      approvers: ${d.approval.approvers.join(' or ')} (quorum ${d.approval.quorum})`);
    }
    for (const f of r.failures) console.log(`    ✘ ${f}`);
  }
  for (const d of run.diagnostics) console.error(formatDiagnostic(d));
  const failed = run.results.filter((r) => !r.passed).length;
  console.log(`\n${run.results.length - failed} of ${run.results.length} scenarios decided as expected`);
  return failed === 0 && run.diagnostics.length === 0 ? EXIT.ok : EXIT.problems;
}
