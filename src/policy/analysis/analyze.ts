import type { Diagnostic } from '../../lib/diagnostic.js';
import type { PolicySource } from '../compile.js';
import { celEnvironment } from '../cel-environment.js';
import { globMatches, isGlob } from '../glob.js';
import type { CompiledPolicy, CompiledRule, PolicySet } from '../policy-set.js';
import { ArgumentChecker } from './argument-findings.js';
import { conjuncts, isConstant, parseCondition } from './condition-ast.js';
import { exercisedRules, type DecidedCase } from './coverage.js';
import { sortFindings, type Finding } from './finding.js';
import { obligationFindings } from './obligation-findings.js';
import { RuleLocator } from './rule-locator.js';
import { actionsOverlap, shadows, toolsOverlap } from './shadowing.js';
import { mayNameUnlisted, type ToolCatalog, type ToolInfo } from './tool-catalog.js';

export interface AnalysisInput {
  policySet: PolicySet;
  /** The policy texts the set was compiled from (for exact locations); others fall back to the rule's line. */
  sources: readonly PolicySource[];
  /** The tool registry. Without it, nothing is said about tool names, arguments or upstreams. */
  catalog?: ToolCatalog;
  /** The decided test cases. Without them, nothing is said about tests. */
  cases?: readonly DecidedCase[];
  /** For effective windows; default: the clock. */
  now?: number;
}

/** Built-in guard policies are Warden's: analysed as context (their denies shadow), never reported on. */
const isBuiltIn = (p: CompiledPolicy) => p.file.startsWith('<built-in>/');

/**
 * Static analysis of a compiled policy set (`warden check --analyze`). Pure: the set, the texts
 * and the registry in; findings out, errors first.
 */
export function analyzePolicies(input: AnalysisInput): Finding[] {
  const { policySet } = input;
  const locator = new RuleLocator(input.sources);
  const now = input.now ?? Date.now();
  const findings: Finding[] = [];
  const tools = input.catalog?.tools;
  const checker = tools ? new ArgumentChecker(tools) : undefined;
  const knownNames = tools?.map((t) => t.name);
  const denies = policySet.rules.filter((r) => r.effect === 'deny');

  for (const policy of policySet.policies) {
    if (isBuiltIn(policy)) continue;
    if (policy.until !== undefined && policy.until <= now) {
      findings.push({ severity: 'warning', code: 'never-fires', policy: policy.id, file: policy.file, line: policy.line, column: 1, message: `the policy's effective window ended at ${new Date(policy.until).toISOString()}: none of its rules can fire`, hint: 'delete the policy, or move effective.until' });
    }
  }

  for (const rule of policySet.rules) {
    if (isBuiltIn(rule.policy)) continue;
    const at = (field?: Parameters<RuleLocator['at']>[1], item?: number) => ({ policy: rule.policy.id, rule: rule.id, file: rule.file, ...locator.at(rule, field, item) });

    const shadower = denies.find((d) => shadows(d, rule) && !(shadows(rule, d) && d.key > rule.key));
    if (shadower) {
      const where = `${shadower.key} (${shadower.file}:${shadower.line})`;
      if (rule.effect === 'deny') {
        findings.push({ ...at('id'), severity: 'info', code: 'redundant-deny', message: `deny ${where} matches every request this deny matches: this rule never changes an outcome`, hint: 'keep it only if its reason is the one you want shown (the first matching deny in policy/rule order decides)' });
      } else {
        const obligations = rule.obligations.length ? ', and its obligations never apply' : '';
        findings.push({ ...at('id'), severity: 'warning', code: 'shadowed-rule', message: `this ${rule.effect} rule can never fire: deny ${where} matches every request it matches${obligations}`, hint: 'remove the rule, or narrow the deny (a condition, fewer tools or actions)' });
      }
    }

    if (rule.whenSource !== undefined) {
      const falseConjunct = constantFalse(rule);
      if (falseConjunct) findings.push({ ...at('when'), severity: 'warning', code: 'never-fires', message: `the condition contains "${falseConjunct}", which is false for every request: the rule can never fire`, hint: 'remove the rule, or fix the condition' });
    }

    if (knownNames) {
      const unmatched = (rule.tools ?? []).filter((p) => !knownNames.some((n) => globMatches(p, n)) && !mayNameUnlisted(p, input.catalog!));
      (rule.tools ?? []).forEach((pattern, i) => {
        if (!unmatched.includes(pattern)) return;
        const all = unmatched.length === rule.tools!.length;
        findings.push({
          ...at('tools', i),
          severity: 'error',
          code: 'unmatched-tool',
          message: `${isGlob(pattern) ? 'pattern' : 'tool'} "${pattern}" matches no registered tool${all ? ': the rule can never fire' : ''}`,
          hint: 'check the name against the tool registry (warden.yaml tools, MCP upstreams, --tools)',
        });
      });
      spansUpstreams(rule, tools!).forEach(({ pattern, index, upstreams }) =>
        findings.push({ ...at('tools', index), severity: 'warning', code: 'glob-spans-upstreams', message: `pattern "${pattern}" matches tools of ${upstreams.length} MCP upstreams (${upstreams.join(', ')}): a server added later under another name is caught too`, hint: 'name the upstream in the pattern (e.g. docs.*), or list the tools' }),
      );
    }
    if (checker) findings.push(...checker.check(rule, locator).map((f) => f.finding));
    findings.push(...obligationFindings(rule, tools, checker, at('obligations')));

    // A deny naming neither tools nor actions (tenant isolation, trust floors) overlaps every
    // allow by design; saying so on each would drown the overlaps worth reading.
    if (rule.effect === 'allow' && rule.policy.mode === 'enforce' && !shadower) {
      const overlapping = denies.filter(
        (d) => d.policy.mode === 'enforce' && !isBuiltIn(d.policy) && (d.tools || d.actions) && actionsOverlap(d, rule) && toolsOverlap(d.tools, rule.tools, knownNames),
      );
      if (overlapping.length) {
        findings.push({ ...at('id'), severity: 'info', code: 'allow-overlaps-deny', message: `deny rule${overlapping.length > 1 ? 's' : ''} ${overlapping.map((d) => d.key).join(', ')} also appl${overlapping.length > 1 ? 'y' : 'ies'} to some tools this rule allows; where ${overlapping.length > 1 ? 'they match' : 'it matches'}, the deny wins`, hint: 'informational; a test case where both match pins down which one decides' });
      }
    }
  }

  if (input.cases) findings.push(...untestedPolicies(policySet, input.cases));
  return sortFindings(findings);
}

/** A top-level conjunct that reads nothing and evaluates to false (`false`, `1 > 2`). */
function constantFalse(rule: CompiledRule): string | undefined {
  for (const c of conjuncts(parseCondition(rule.whenSource!))) {
    if (!isConstant(c)) continue;
    const source = rule.whenSource!.slice(c.range.start, c.range.end);
    try {
      if (celEnvironment.evaluate(source, {}) === false) return source;
    } catch {
      // An expression that fails is not "false" (and a deny would count it as matched).
    }
  }
  return undefined;
}

function spansUpstreams(rule: CompiledRule, tools: readonly ToolInfo[]): Array<{ pattern: string; index: number; upstreams: string[] }> {
  const out: Array<{ pattern: string; index: number; upstreams: string[] }> = [];
  (rule.tools ?? []).forEach((pattern, index) => {
    if (!isGlob(pattern)) return;
    const upstreams = [...new Set(tools.filter((t) => t.upstream && globMatches(pattern, t.name)).map((t) => t.upstream!))].sort();
    if (upstreams.length > 1) out.push({ pattern, index, upstreams });
  });
  return out;
}

function untestedPolicies(policySet: PolicySet, cases: readonly DecidedCase[]): Finding[] {
  const exercised = new Set<string>();
  for (const c of cases) if (c.decision) for (const key of exercisedRules(c.decision)) exercised.add(key.split('/')[0]!);
  return policySet.policies
    .filter((p) => !isBuiltIn(p) && !exercised.has(p.id))
    .map((p) => ({
      severity: 'warning' as const,
      code: 'untested-policy' as const,
      policy: p.id,
      file: p.file,
      line: p.line,
      column: 1,
      message: cases.length === 0 ? 'there are no test suites: no case exercises this policy' : 'no test case exercises any rule of this policy',
      hint: 'add a case to a *.test.yaml suite (warden test --coverage lists the rules no case reaches)',
    }));
}

/**
 * What the gateway refuses to load: a condition that reads, unguarded, an argument none of the
 * tools its rule names can have. Claimed only when it is provable from the registry as it stands:
 * the rule names its tools exactly (no glob, not "every tool": tools an MCP upstream or the SDK
 * registers later could match those), and every one is registered with a closed input schema
 * that lacks the argument. Such a condition fails on every call: a deny then matches every call,
 * an allow none.
 */
export function unreadableArguments(policySet: PolicySet, sources: readonly PolicySource[], tools: readonly ToolInfo[]): Finding[] {
  const checker = new ArgumentChecker(tools);
  const locator = new RuleLocator(sources);
  const names = new Set(tools.map((t) => t.name));
  return policySet.rules
    .filter((r) => !isBuiltIn(r.policy) && r.tools !== undefined && r.tools.every((p) => !isGlob(p) && names.has(p)))
    .flatMap((r) => checker.check(r, locator).filter((f) => f.everyTool).map((f) => f.finding));
}

/** The same, as load diagnostics (errors: the gateway refuses a reload that has any). */
export function unreadableArgumentDiagnostics(policySet: PolicySet, sources: readonly PolicySource[], tools: readonly ToolInfo[]): Diagnostic[] {
  return unreadableArguments(policySet, sources, tools).map((f) => ({
    file: f.file,
    line: f.line,
    column: f.column,
    severity: 'error',
    code: 'unknown-argument',
    message: `${f.policy}/${f.rule}: ${f.message}`,
    ...(f.hint ? { hint: f.hint } : {}),
  }));
}
