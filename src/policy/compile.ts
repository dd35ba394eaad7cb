import type { ApprovalRequirement } from '../model/decision.js';
import type { Obligation } from '../model/obligation.js';
import { CEL_VARIABLES, celEnvironment, compileExpression, type CompiledExpression } from './cel-environment.js';
import { bundleRevision } from './bundle.js';
import { closest, hasErrors, type Diagnostic, type DiagnosticCode } from '../lib/diagnostic.js';
import { schemaDiagnostics } from '../lib/schema-diagnostics.js';
import { parseDuration } from '../lib/duration.js';
import { globMatches, isGlob } from './glob.js';
import { parseObligation } from './obligation-parse.js';
import { looseRuleSchema, policyHeaderSchema, ruleSchema, type PolicyDocument, type RuleDocument } from './policy-schema.js';
import type { CompiledPolicy, CompiledRule, PolicySet } from './policy-set.js';
import { firstLine } from '../lib/diagnostic.js';
import { parseReasonTemplate } from './reason-template.js';
import { conditionReads, overlaps } from './condition-reads.js';
import { RuleIndex } from './rule-index.js';
import { planCondition } from './condition-plan.js';
import { EMPTY_POLICY_DATA, type PolicyData } from './policy-data.js';
import { YamlSource } from '../lib/source-map.js';

export interface PolicySource {
  file: string;
  text: string;
}

export interface CompileOptions {
  /**
   * Names of every tool the registry knows. When given, a `tools` entry (exact or glob) that
   * matches none of them is reported: its rule can never apply.
   */
  knownTools?: readonly string[];
  /**
   * Ids of policies that may only add caution: their require_approval rules hold an action only
   * when another rule allows it (the built-in guard policies, and a user policy replacing one).
   */
  cautionOnly?: ReadonlySet<string>;
  /** Policy data (`data.*` in conditions), parsed by `parsePolicyData`; part of the bundle revision. */
  data?: PolicyData;
}

export interface CompileResult {
  /** Present only when there are no errors: a set with a broken policy is never half-loaded. */
  policySet?: PolicySet;
  diagnostics: Diagnostic[];
}

type Path = ReadonlyArray<PropertyKey>;

/** Collects diagnostics for one file, located by YAML path. */
class FileReport {
  constructor(
    readonly source: YamlSource,
    private readonly out: Diagnostic[],
  ) {}

  error(code: DiagnosticCode, at: { line: number; column: number }, message: string, hint?: string): void {
    this.out.push({ file: this.source.file, ...at, severity: 'error', code, message, ...(hint ? { hint } : {}) });
  }

  add(diagnostics: readonly Diagnostic[]): void {
    this.out.push(...diagnostics);
  }

  at(path: Path, code: DiagnosticCode, message: string, hint?: string): void {
    this.error(code, this.source.locate(path), message, hint);
  }
}

export function compilePolicies(sources: readonly PolicySource[], options: CompileOptions = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const documents: PolicyDocument[] = [];
  const policies: CompiledPolicy[] = [];
  const rules: CompiledRule[] = [];
  const seenPolicies = new Map<string, string>();

  for (const { file, text } of sources) {
    const source = new YamlSource(file, text);
    const report = new FileReport(source, diagnostics);
    const parsed = parseDocument(source, report);
    if (!parsed) continue;
    const { document, rulePositions } = parsed;

    const where = source.locate([]);
    const first = seenPolicies.get(document.id);
    if (first) {
      report.at(['id'], 'duplicate-id', `policy id "${document.id}" is already used at ${first}`, 'policy ids must be unique across the folder');
      continue;
    }
    seenPolicies.set(document.id, `${file}:${source.locate(['id']).line}`);

    const policy = compilePolicyHeader(document, file, where.line, report, options.cautionOnly);
    const compiled = compileRules(document, rulePositions, policy, report);
    if (options.knownTools) reportUnmatchedTools(document, rulePositions, options.knownTools, report);
    documents.push(document);
    policies.push(policy);
    rules.push(...compiled);
  }

  diagnostics.sort((a, b) => (a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line - b.line || a.column - b.column));
  if (hasErrors(diagnostics)) return { diagnostics };
  rules.sort((a, b) => (a.key < b.key ? -1 : 1));
  rules.forEach((rule, i) => (rule.order = i));
  policies.sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    diagnostics,
    policySet: {
      policies,
      rules,
      index: new RuleIndex(rules),
      bundle: bundleRevision(documents, (options.data ?? EMPTY_POLICY_DATA).values),
      data: options.data ?? EMPTY_POLICY_DATA,
      usesRelationships: rules.some((r) => r.whenSource !== undefined && /\brelated\s*\(/.test(r.whenSource)),
      readsSessionHistory: documents.some((d) => d.rules.some((r) => readsSessionHistory(r.when) || reasonExpressions(r.reason).some(readsSessionHistory))),
    },
  };
}

const SESSION_HISTORY = ['session', 'recent'];

/** Whether an expression may read the session's history (over-approximate, as conditionReads is). */
function readsSessionHistory(source: string | undefined): boolean {
  return source !== undefined && conditionReads(source).some((read) => overlaps(read, SESSION_HISTORY));
}

/** The `${...}` expressions of a reason, as parseReasonTemplate cuts them. */
function reasonExpressions(reason: string | undefined): string[] {
  return reason === undefined ? [] : [...reason.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
}

/** A schema-valid policy, and for each of its rules the index it has in the file's `rules` list. */
interface ParsedPolicy {
  document: PolicyDocument;
  rulePositions: number[];
}

function parseDocument(source: YamlSource, report: FileReport): ParsedPolicy | undefined {
  const yamlErrors = source.document.errors;
  if (yamlErrors.length > 0) {
    for (const e of yamlErrors) report.error('yaml', source.position(e.pos[0]), firstLine(e.message));
    return undefined;
  }
  let raw: unknown;
  try {
    // A small alias budget stops "billion laughs" documents from expanding without bound.
    raw = source.document.toJS({ maxAliasCount: 100 });
  } catch (e) {
    report.error('yaml', source.position(0), firstLine((e as Error).message));
    return undefined;
  }
  if (raw === null || raw === undefined) {
    report.error('schema', source.position(0), 'the file is empty', 'a policy needs at least id, version and rules');
    return undefined;
  }
  const header = policyHeaderSchema.safeParse(raw);
  if (!header.success) {
    report.add(schemaDiagnostics(header.error.issues, { source, schema: policyHeaderSchema, input: raw, root: 'the policy' }));
    return undefined;
  }
  const rules: RuleDocument[] = [];
  const rulePositions: number[] = [];
  header.data.rules.forEach((item, i) => {
    const rule = ruleSchema.safeParse(item);
    if (!rule.success) {
      report.add(schemaDiagnostics(rule.error.issues, { source, schema: ruleSchema, input: item, prefix: ['rules', i] }));
    }
    // A rule whose only fault is an unknown field is still compiled, so its condition is checked too.
    const usable = rule.success ? rule : looseRuleSchema.safeParse(item);
    if (usable.success) {
      rules.push(usable.data);
      rulePositions.push(i);
    }
  });
  // Rules that failed the schema are already reported (so no set is built); the rest are still
  // compiled so that their own problems are reported in the same run.
  return { document: { ...header.data, rules }, rulePositions };
}

function compilePolicyHeader(document: PolicyDocument, file: string, line: number, report: FileReport, cautionOnly: ReadonlySet<string> | undefined): CompiledPolicy {
  const from = document.effective?.from ? Date.parse(document.effective.from) : undefined;
  const until = document.effective?.until ? Date.parse(document.effective.until) : undefined;
  if (from !== undefined && until !== undefined && from >= until) {
    report.at(['effective'], 'schema', 'effective.from must be before effective.until');
  }
  return {
    id: document.id,
    version: document.version,
    owner: document.owner,
    description: document.description,
    mode: document.mode,
    from,
    until,
    file,
    line,
    ...(cautionOnly?.has(document.id) ? { cautionOnly: true } : {}),
  };
}

function compileRules(
  document: PolicyDocument,
  rulePositions: readonly number[],
  policy: CompiledPolicy,
  report: FileReport,
): CompiledRule[] {
  const seen = new Set<string>();
  const compiled: CompiledRule[] = [];
  document.rules.forEach((rule, k) => {
    const path = ['rules', rulePositions[k]!];
    if (seen.has(rule.id)) {
      report.at([...path, 'id'], 'duplicate-id', `rule id "${rule.id}" appears twice in policy "${policy.id}"`);
      return;
    }
    seen.add(rule.id);
    const when = rule.when === undefined ? undefined : compileCondition(rule.when, [...path, 'when'], report);
    let reason;
    if (rule.reason !== undefined) {
      const parsed = parseReasonTemplate(rule.reason);
      if (parsed.ok) reason = parsed.template.every((part) => typeof part === 'string') ? parsed.template.join('') : parsed.template;
      else report.error('template', report.source.locateInScalar([...path, 'reason'], parsed.index), parsed.message);
    }
    compiled.push({
      key: `${policy.id}/${rule.id}`,
      order: 0, // set once the whole set is sorted
      policy,
      id: rule.id,
      effect: rule.effect,
      actions: rule.actions,
      tools: rule.tools,
      when,
      whenSource: rule.when,
      plan: planCondition(when, rule.when),
      reason,
      attribution: ` (policy ${policy.id} v${policy.version}, rule ${rule.id})`,
      obligations: compileObligations(rule, path, report),
      approval: compileApproval(rule, path, report),
      file: report.source.file,
      line: report.source.locate(path).line,
    });
  });
  return compiled;
}

function reportUnmatchedTools(
  document: PolicyDocument,
  rulePositions: readonly number[],
  knownTools: readonly string[],
  report: FileReport,
): void {
  document.rules.forEach((rule, k) => {
    const i = rulePositions[k]!;
    rule.tools?.forEach((pattern, j) => {
      if (knownTools.some((name) => globMatches(pattern, name))) return;
      const guess = isGlob(pattern) ? undefined : closest(pattern, knownTools);
      report.at(
        ['rules', i, 'tools', j],
        'unmatched-tool',
        `${isGlob(pattern) ? 'pattern' : 'tool'} "${pattern}" matches no known tool, so rule "${rule.id}" can never apply to it`,
        guess ? `did you mean "${guess}"?` : 'check the name against the tool registry',
      );
    });
  });
}

const KNOWN_VARIABLES = Object.keys(CEL_VARIABLES).join(', ');

function compileCondition(source: string, path: Path, report: FileReport): CompiledExpression | undefined {
  const checked = celEnvironment.check(source);
  if (!checked.valid) {
    const error = checked.error;
    const message = firstLine(error?.message);
    const at = report.source.locateInScalar(path, error?.range?.start ?? 0);
    if (error?.name === 'ParseError') {
      report.error('cel-syntax', at, `CEL syntax error: ${message}`);
    } else if (/^Unknown variable/.test(message)) {
      const name = message.replace(/^Unknown variable:\s*/, '');
      const guess = closest(name, Object.keys(CEL_VARIABLES));
      report.error('unknown-variable', at, message, guess ? `did you mean "${guess}"?` : `variables: ${KNOWN_VARIABLES}`);
    } else {
      report.error('cel-type', at, `CEL type error: ${message}`);
    }
    return undefined;
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    report.at(path, 'cel-type', `a condition must be a bool; this one is ${checked.type}`, 'compare the value, e.g. args.amount > 100');
    return undefined;
  }
  return compileExpression(source);
}

function compileObligations(rule: RuleDocument, path: Path, report: FileReport): Obligation[] {
  const out: Obligation[] = [];
  if (rule.obligations && rule.effect === 'deny') {
    report.at([...path, 'obligations'], 'obligation', 'a deny rule cannot carry obligations', 'move them to an allow or require_approval rule');
  }
  rule.obligations?.forEach((item, j) => {
    const parsed = parseObligation(item);
    if (parsed.ok) out.push(parsed.obligation);
    else {
      const code = parsed.message.startsWith('unknown obligation type') ? 'unknown-obligation' : 'obligation';
      report.at([...path, 'obligations', j], code, parsed.message, parsed.hint);
    }
  });
  return out;
}

const DEFAULT_APPROVAL: ApprovalRequirement = { approvers: ['role:approver'], quorum: 1, expiresIn: '1h', allowRequester: false };

function compileApproval(rule: RuleDocument, path: Path, report: FileReport): ApprovalRequirement | undefined {
  if (rule.effect !== 'require_approval') {
    if (rule.approval) report.at([...path, 'approval'], 'schema', `approval is only valid on require_approval rules, not ${rule.effect}`);
    return undefined;
  }
  if (!rule.approval) return DEFAULT_APPROVAL;
  if (parseDuration(rule.approval.expires) === undefined) {
    report.at([...path, 'approval', 'expires'], 'schema', `approval.expires "${rule.approval.expires}" is not a duration`, 'use forms like 30m, 1h, 2d');
  }
  return {
    approvers: [...new Set(rule.approval.approvers)].sort(),
    quorum: rule.approval.quorum,
    expiresIn: rule.approval.expires,
    allowRequester: rule.approval.allow_requester,
  };
}
