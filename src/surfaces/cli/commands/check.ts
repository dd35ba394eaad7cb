import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { formatDiagnostic, hasErrors } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import { runTestSuites } from '../../../policy/test-suite.js';
import { parseJson } from '../read-input.js';
import { EXIT, UsageError } from '../usage-error.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';

export interface CheckOptions {
  tools?: string;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/** `warden check <dir>`: every problem in the policies (and their test suites), with file:line:column. */
export async function checkCommand(dir: string, options: CheckOptions): Promise<number> {
  if (!existsSync(dir)) throw new UsageError(`no policy folder or file at ${dir}`);
  const knownTools = options.tools ? await readToolNames(options.tools) : undefined;
  const { policySet, diagnostics, folder } = await loadPolicyFolder(dir, { knownTools, ...guardPolicyOptions(options.defaultGuards !== false) });
  if (policySet) diagnostics.push(...runTestSuites(policySet, folder.tests).diagnostics);
  for (const d of diagnostics) console.log(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const files = folder.policies.length + folder.tests.length;
  if (hasErrors(diagnostics)) {
    console.log(`\n${errors} problem${errors === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`);
    return EXIT.problems;
  }
  const isBuiltIn = (file: string) => file.startsWith('<built-in>/');
  const rules = policySet!.rules.filter((r) => !isBuiltIn(r.policy.file)).length;
  const builtIn = policySet!.policies.filter((p) => isBuiltIn(p.file)).map((p) => p.id);
  if (builtIn.length) console.log(`built-in guard policies: ${builtIn.join(', ')} (a policy with the same id replaces one; --no-default-guards leaves them out)`);
  console.log(`ok: ${folder.policies.length} policies, ${rules} rules, ${folder.tests.length} test suites; bundle ${policySet!.bundle}`);
  return EXIT.ok;
}

/** `--tools` takes a JSON list of names, of registry entries with `name`, or `{ "tools": [...] }`. */
async function readToolNames(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --tools file: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseJson(text, path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const list = Array.isArray(value) ? value : (value as { tools?: unknown })?.tools;
  const names = Array.isArray(list) ? list.map((t) => (typeof t === 'string' ? t : (t as { name?: unknown })?.name)) : [];
  if (!Array.isArray(list) || names.some((n) => typeof n !== 'string')) {
    throw new UsageError(`--tools file ${path} must be a JSON list of tool names or of objects with "name", or {"tools": [...]}`);
  }
  return names as string[];
}
