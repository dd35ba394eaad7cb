import { existsSync } from 'node:fs';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import { runTestSuites } from '../../../policy/test-suite.js';
import { analyzePolicies, formatFinding, type Finding, type ToolCatalog } from '../../../policy/analysis/index.js';
import { EXIT, UsageError } from '../usage-error.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';
import { catalogFromConfig, readToolsFile } from '../tool-catalog-input.js';

export interface CheckOptions {
  tools?: string;
  /** The gateway's config: its tools (and the MCP tools its database has seen) are the registry. */
  config?: string;
  analyze?: boolean;
  json?: boolean;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/**
 * `warden check <dir>`: every problem in the policies (and their test suites), with
 * file:line:column. With --analyze, also what compiles but cannot work (policy/analysis).
 */
export async function checkCommand(dir: string, options: CheckOptions): Promise<number> {
  if (!existsSync(dir)) throw new UsageError(`no policy folder or file at ${dir}`);
  const { catalog, notes } = await registry(options);
  const guards = guardPolicyOptions(options.defaultGuards !== false);
  // Analysis reports unmatched tools itself (as findings, located by rule), and must still run
  // when one is wrong; the plain check keeps reporting them as compile errors.
  const knownTools = !options.analyze && catalog && catalog.complete !== false && !catalog.unlistedPrefixes?.length ? catalog.tools.map((t) => t.name) : undefined;
  const { policySet, diagnostics, folder } = await loadPolicyFolder(dir, { knownTools, ...guards });
  const run = policySet ? runTestSuites(policySet, folder.tests) : undefined;
  if (run) diagnostics.push(...run.diagnostics);
  const findings: Finding[] =
    policySet && options.analyze
      ? analyzePolicies({ policySet, sources: [...folder.policies, ...(guards.builtIns ?? [])], catalog, cases: run!.results.map((r) => ({ name: `${r.suite} › ${r.name}`, decision: r.decision })) })
      : policySet && catalog
        ? // Without --analyze, a registry still earns the warning a plain check can give: a glob
          // that matches the tools of several MCP upstreams (it catches a server added later too).
          analyzePolicies({ policySet, sources: folder.policies, catalog }).filter((f) => f.code === 'glob-spans-upstreams')
        : [];
  const files = folder.policies.length + folder.tests.length;
  const failed = hasErrors(diagnostics) || findings.some((f) => f.severity === 'error');

  if (options.json) {
    console.log(JSON.stringify({ ok: !failed, bundle: policySet?.bundle, files, rules: policySet?.rules.length, diagnostics, findings, summary: summary(diagnostics, findings), notes }, null, 2));
    return failed ? EXIT.problems : EXIT.ok;
  }
  for (const note of notes) console.log(`note: ${note}`);
  for (const d of diagnostics) console.log(formatDiagnostic(d));
  for (const f of findings) console.log(formatFinding(f));
  if (!policySet || hasErrors(diagnostics)) {
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    console.log(`\n${errors} problem${errors === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`);
    return EXIT.problems;
  }
  const isBuiltIn = (file: string) => file.startsWith('<built-in>/');
  // The count is of the user's rules: the built-in guard policies are named on their own line.
  const rules = policySet.rules.filter((r) => !isBuiltIn(r.policy.file)).length;
  const builtIn = policySet.policies.filter((p) => isBuiltIn(p.file)).map((p) => p.id);
  if (builtIn.length) console.log(`built-in guard policies: ${builtIn.join(', ')} (a policy with the same id replaces one; --no-default-guards leaves them out)`);
  if (options.analyze) {
    const s = summary(diagnostics, findings);
    console.log(`\nanalysis: ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.info} info${catalog ? '' : ' (no --tools or --config: tool names and arguments not checked)'}`);
  }
  // Policy data (data/ in the folder) by name, with its entries: what conditions can read as data.*.
  const data = policySet.data.files.map((f) => `${f.name} (${f.entries})`).join(', ');
  console.log(`${failed ? 'failed' : 'ok'}: ${folder.policies.length} policies, ${rules} rules, ${folder.tests.length} test suites${data ? `, data ${data}` : ''}; bundle ${policySet.bundle}`);
  return failed ? EXIT.problems : EXIT.ok;
}

async function registry(options: CheckOptions): Promise<{ catalog?: ToolCatalog; notes: string[] }> {
  if (options.tools) return { catalog: await readToolsFile(options.tools), notes: [] };
  if (options.config) {
    const { readConfig } = await import('../state.js');
    return catalogFromConfig(await readConfig(options.config), options.config);
  }
  return { notes: [] };
}

function summary(diagnostics: readonly Diagnostic[], findings: readonly Finding[]) {
  const count = (severity: string) => diagnostics.filter((d) => d.severity === severity).length + findings.filter((f) => f.severity === severity).length;
  return { errors: count('error'), warnings: count('warning'), info: count('info') };
}
