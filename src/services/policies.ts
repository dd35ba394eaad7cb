import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { hasRole, type Principal } from '../auth/principal.js';
import type { DecisionCache } from '../enforcement/decision-cache.js';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import { guardPolicyOptions, GUARD_POLICY_IDS } from '../guards/default-policies.js';
import { formatDiagnostic, type Diagnostic } from '../lib/diagnostic.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { unreadableArgumentDiagnostics, type ToolInfo } from '../policy/analysis/index.js';
import { compilePolicies, type PolicySource } from '../policy/compile.js';
import { displayPath, loadPolicyFolder, readPolicyFolder } from '../policy/load.js';
import type { PolicySet } from '../policy/policy-set.js';
import { runTestSuites } from '../policy/test-suite.js';
import type { PolicyBundleStore } from '../store/ports.js';
import type { RegisteredTool } from '../upstream/tool-registry.js';
import type { PolicyBundleRecord } from '../store/records.js';
import { requireHuman } from './access.js';
import { ServiceError } from './errors.js';

export type ReloadResult = { ok: true; bundle: string } | { ok: false; diagnostics: Diagnostic[] };

/** The last reload, for readiness: a refused one leaves the gateway serving an older policy set. */
export type ReloadStatus =
  | { ok: true; at?: number; why?: string }
  | {
      ok: false;
      /** When the last reload was refused, and why it was asked for. */
      at: number;
      why: string;
      /** When reloads started failing (the first refused reload since the last good one). */
      since: number;
      /** The errors, formatted (`file:line:column: error [code] message`), at most MAX_REPORTED_ERRORS. */
      errors: string[];
      /** The bundle still serving. */
      serving: string;
    };

const MAX_REPORTED_ERRORS = 5;

export interface PolicyServiceDeps {
  policiesDir: string;
  /** Load the built-in guard policies beside the folder's (`guards.default_policies`). */
  defaultGuards: boolean;
  policies: PoliciesInForce;
  cache: DecisionCache;
  bundles: PolicyBundleStore;
  recorder: DecisionRecorder;
  /** Names of every registered tool, for "this rule names no tool" diagnostics. */
  toolNames: () => string[];
  /**
   * The registered tools with their input schemas. When given, a reload (or a candidate) whose
   * condition reads an argument that none of the tools its rule names can have is refused
   * (policy/analysis `unreadableArguments`).
   */
  tools?: () => ToolInfo[];
  clock: () => number;
}

/** The input of create_policy: the id names the file, `<policies folder>/<id>.yaml`. */
export interface PolicyDraft {
  id: string;
  yaml: string;
  /** Overwrite an existing <id>.yaml (default: an existing file is refused). */
  replace?: boolean;
}

/** create_policy calls in one process are serialised per policy folder: compile, write, reload. */
const policyWrites = new KeyedMutex();

/**
 * Policy administration: what is in force, its history, validating a candidate, reloading the
 * folder (an invalid set is refused and the previous one keeps serving), running the folder's
 * tests, and writing a policy for an admin of every tenant.
 */
export class PolicyService {
  private readonly reloadListeners: Array<(why: string, result: ReloadResult) => void> = [];
  private status: ReloadStatus = { ok: true };
  private loadWarnings: Diagnostic[] = [];

  constructor(private readonly d: PolicyServiceDeps) {}

  get current(): PolicySet {
    return this.d.policies.current;
  }

  /** Loads the policy folder as the config says (with or without the built-in guard policies). */
  static load(policiesDir: string, defaultGuards: boolean): ReturnType<typeof loadPolicyFolder> {
    // No knownTools check here: tools also arrive from MCP upstreams at run time. `warden check
    // --tools` is where a policy naming a tool that does not exist is reported.
    return loadPolicyFolder(policiesDir, guardPolicyOptions(defaultGuards));
  }

  /**
   * Conditions of the set in force that read an argument their tools cannot have. A reload with
   * one is refused, but the set the gateway started with is not: a gateway that ran yesterday on
   * the same files keeps starting (such a rule already fails closed), and the problem is logged
   * and shown on /v1/policies as a warning. Also, at start the MCP upstream tools are not yet
   * registered, so only what is provable from the configured tools is said.
   */
  checkLoaded(sources: readonly PolicySource[]): Diagnostic[] {
    const tools = this.d.tools?.();
    this.loadWarnings = tools ? unreadableArgumentDiagnostics(this.current, sources, tools).map((d) => ({ ...d, severity: 'warning' as const })) : [];
    return this.loadWarnings;
  }

  /** Problems of the set in force that did not stop it loading (see checkLoaded). */
  get warnings(): readonly Diagnostic[] {
    return this.loadWarnings;
  }

  /** Called after every reload, refused or not (the server logs it). */
  onReload(listener: (why: string, result: ReloadResult) => void): void {
    this.reloadListeners.push(listener);
  }

  /** The outcome of the last reload: refused ones stay reported until a reload succeeds. */
  get reloadStatus(): ReloadStatus {
    return this.status;
  }

  /** Reloads the policy folder; an invalid set is refused and the previous one keeps serving. */
  async reload(why: string): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const { policySet: next, diagnostics, folder } = await PolicyService.load(this.d.policiesDir, this.d.defaultGuards);
      const tools = next && this.d.tools?.();
      const unreadable = next && tools ? unreadableArgumentDiagnostics(next, folder.policies, tools) : [];
      if (!next) result = { ok: false, diagnostics };
      else if (unreadable.length) result = { ok: false, diagnostics: [...diagnostics, ...unreadable] };
      else {
        this.loadWarnings = [];
        if (next.bundle !== this.d.policies.current.bundle) {
          this.d.policies.current = next;
          this.d.cache.clear();
          await this.recordBundle(next);
        }
        result = { ok: true, bundle: next.bundle };
      }
    } catch (error) {
      this.refused(why, [`the reload failed: ${(error as Error)?.message ?? String(error)}`]);
      throw error;
    }
    if (result.ok) this.status = { ok: true, at: this.d.clock(), why };
    else this.refused(why, result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic));
    for (const listener of this.reloadListeners) listener(why, result);
    return result;
  }

  private refused(why: string, errors: string[]): void {
    const at = this.d.clock();
    const listed = errors.length ? errors : ['the policy folder did not load'];
    this.status = {
      ok: false,
      at,
      why,
      since: this.status.ok ? at : this.status.since,
      errors: [...listed.slice(0, MAX_REPORTED_ERRORS).map((e) => e.split('\n')[0]!), ...(listed.length > MAX_REPORTED_ERRORS ? [`and ${listed.length - MAX_REPORTED_ERRORS} more`] : [])],
      serving: this.d.policies.current.bundle,
    };
  }

  /** Remembers a bundle as having been in force from now (its policies and versions). */
  recordBundle(set: PolicySet): Promise<void> {
    return this.d.bundles.recordPolicyBundle({ bundle: set.bundle, loadedAt: this.d.clock(), policies: set.policies.map((p) => ({ id: p.id, version: p.version, file: p.file })) });
  }

  history(limit: number): Promise<PolicyBundleRecord[]> {
    return this.d.bundles.listPolicyBundles(limit);
  }

  /** Compiles a candidate set (and runs its tests) without applying it. */
  validate(files: ReadonlyArray<{ file: string; text: string }>) {
    const policies = files.filter((f) => !/\.test\.ya?ml$/.test(f.file));
    const tests = files.filter((f) => /\.test\.ya?ml$/.test(f.file));
    const compiled = compilePolicies(policies, { knownTools: this.d.toolNames(), cautionOnly: GUARD_POLICY_IDS });
    const { policySet } = compiled;
    const tools = this.d.tools?.();
    const diagnostics = policySet && tools ? [...compiled.diagnostics, ...unreadableArgumentDiagnostics(policySet, policies, tools)] : compiled.diagnostics;
    const run = policySet && tests.length ? runTestSuites(policySet, tests) : undefined;
    return {
      valid: policySet !== undefined && diagnostics.every((d) => d.severity !== 'error') && (run?.diagnostics.length ?? 0) === 0,
      bundle: policySet?.bundle,
      diagnostics: [...diagnostics, ...(run?.diagnostics ?? [])],
      tests: run?.results.map((r) => ({ suite: r.suite, name: r.name, passed: r.passed, failures: r.failures })),
    };
  }

  /**
   * How policy file paths are shown to `principal`: an admin sees them as the gateway has them;
   * anyone else relative to the policies folder (an absolute path tells how the server is laid
   * out, which is not a viewer's business), or by file name for a file outside it.
   */
  filePathFor(principal: Principal | undefined): (file: string) => string {
    if (principal?.kind === 'human' && hasRole(principal, 'admin')) return (file) => file;
    const dir = resolve(this.d.policiesDir);
    return (file) => {
      const rel = relative(dir, resolve(file));
      return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : basename(file);
    };
  }

  /** The folder's `*.test.yaml` suites against the policies in force (paths as `principal` may see them). */
  async runTests(principal?: Principal) {
    const folder = await readPolicyFolder(this.d.policiesDir);
    const set = this.d.policies.current;
    const run = runTestSuites(set, folder.tests);
    const path = this.filePathFor(principal);
    return {
      bundle: set.bundle,
      passed: run.results.filter((r) => r.passed).length,
      failed: run.results.filter((r) => !r.passed).length,
      results: run.results.map((r) => ({ suite: r.suite, file: path(r.file), line: r.line, name: r.name, passed: r.passed, failures: r.failures, effect: r.decision?.effect, rule: r.decision?.rule })),
      diagnostics: [...folder.diagnostics, ...run.diagnostics].map((d) => ({ ...d, file: path(d.file) })),
    };
  }

  /**
   * Validates a policy together with the policies in force (so duplicate ids are caught) and, when
   * it is valid, writes it as <id>.yaml and reloads. Admins of every tenant only: policies apply to
   * all tenants. Nothing is written when anything is wrong; a refused reload takes the file back out.
   */
  async create(principal: Principal, draft: PolicyDraft) {
    const human = requireHuman(principal, 'admin', 'create_policy');
    if (human.tenant !== '*') throw new ServiceError('forbidden', `policies apply to every tenant: only an admin of all tenants (tenant *) may create them; ${human.id} acts for ${human.tenant}`);
    if (/\.test$/i.test(draft.id)) throw new ServiceError('invalid', `"${draft.id}" would name a test suite (${draft.id}.yaml); choose an id that does not end in .test`);
    const dir = this.d.policiesDir;
    return policyWrites.run(resolve(dir), () => this.write(human.id, dir, draft));
  }

  private async write(by: string, dir: string, draft: PolicyDraft) {
    const target = resolve(join(dir, `${draft.id}.yaml`));
    const file = displayPath(target);
    const present = await exists(target);
    if (present && !draft.replace) throw new ServiceError('conflict', `${file} already exists; pass replace: true to overwrite policy ${draft.id}`);

    const folder = await readPolicyFolder(dir);
    const folderProblems = folder.policies.length === 0 ? [] : folder.diagnostics;
    const sources: PolicySource[] = [...folder.policies.filter((p) => resolve(p.file) !== target), { file, text: draft.yaml }];
    const { policySet, diagnostics } = compilePolicies(sources, { cautionOnly: GUARD_POLICY_IDS });
    const tools = policySet && this.d.tools?.();
    // Refused here, before anything is written, rather than by the reload that would follow.
    const unreadable = policySet && tools ? unreadableArgumentDiagnostics(policySet, sources, tools) : [];
    const all = [...folderProblems, ...diagnostics, ...unreadable];
    if (!policySet || all.some((d) => d.severity === 'error')) {
      const errors = all.filter((d) => d.severity === 'error');
      throw new ServiceError('invalid', `policy ${draft.id} is not valid; nothing was written:\n${errors.map(formatDiagnostic).join('\n')}`, { data: { valid: false, written: false, diagnostics: diagnosticsData(all) } });
    }
    const compiled = policySet.policies.find((p) => resolve(p.file) === target);
    if (!compiled) throw new ServiceError('invalid', `policy ${draft.id} did not compile; nothing was written`, { data: { valid: false, written: false, diagnostics: diagnosticsData(all) } });
    if (compiled.id !== draft.id) {
      throw new ServiceError('invalid', `the YAML says id: ${compiled.id}, but create_policy was asked for ${draft.id}; they must match (the file is named for the policy)`, { data: { valid: false, written: false } });
    }

    const previous = present ? await readFile(target) : undefined;
    const previousBundle = this.d.policies.current.bundle;
    if (present) {
      // Replace atomically: a reader (the policy watcher) never sees a half-written file.
      const temp = join(dir, `.${draft.id}.${randomUUID()}.tmp`);
      await writeFile(temp, draft.yaml, { flag: 'wx' });
      try {
        await rename(temp, target);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    } else {
      try {
        await writeFile(target, draft.yaml, { flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ServiceError('conflict', `${file} already exists; pass replace: true to overwrite policy ${draft.id}`);
        throw error;
      }
    }

    const reloaded = await this.reload(`policy ${draft.id} ${present ? 'replaced' : 'created'} by ${by} (governance MCP)`);
    if (!reloaded.ok) {
      // Something else in the folder changed meanwhile; put it back as it was.
      if (previous !== undefined) await writeFile(target, previous);
      else await unlink(target).catch(() => undefined);
      throw new ServiceError('conflict', `the policy folder did not reload, so policy ${draft.id} was taken back out; the previous policies keep serving:\n${reloaded.diagnostics.map(formatDiagnostic).join('\n')}`, {
        data: { valid: false, written: false, diagnostics: diagnosticsData(reloaded.diagnostics) },
      });
    }
    await this.d.recorder.admin(`policy.${present ? 'replace' : 'create'}`, by, `policy ${draft.id} v${compiled.version} ${present ? 'replaced' : 'created'} in ${file}; bundle ${reloaded.bundle}`, {
      policy: draft.id,
      version: compiled.version,
      file,
      bundle: reloaded.bundle,
      previousBundle,
    });
    return {
      valid: true as const,
      written: true as const,
      policy: draft.id,
      version: compiled.version,
      file,
      replaced: present,
      bundle: reloaded.bundle,
      previousBundle,
      warnings: diagnosticsData(all.filter((d) => d.severity === 'warning')),
    };
  }
}

/** The registry as policy analysis reads it: names, input schemas, MCP upstreams. */
export function analysedTools(tools: Iterable<RegisteredTool>): ToolInfo[] {
  return [...tools].map((t) => ({ name: t.entry.name, inputSchema: t.inputSchema, ...(t.entry.server ? { upstream: t.entry.server } : {}) }));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function diagnosticsData(diagnostics: readonly Diagnostic[]) {
  return diagnostics.map((d) => ({ ...d, text: formatDiagnostic(d) }));
}
