/**
 * Generators and an independent oracle for the PDP property tests.
 *
 * Policies are generated as small JS models (not YAML) so the tests can (a) render them to YAML in
 * many equivalent ways and (b) compute, without the engine, what each rule's condition evaluates
 * to for a generated request. Conditions come from a small vocabulary of CEL atoms whose value
 * (true / false / error) is computed here in plain JS, combined with !, && and || under CEL's
 * commutative error semantics (`error || true` is true, `error && false` is false).
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  compilePolicies,
  formatDiagnostic,
  hasErrors,
  parseActionRequest,
  TRUST_LEVELS,
  type ActionRequest,
  type ApprovalRequirement,
  type CompileOptions,
  type Effect,
  type Obligation,
  type PolicySet,
  type TrustLevel,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary

export const NOW = new Date('2026-01-01T00:00:00Z');

export const ACTIONS = ['tool.call', 'resource.read'] as const;
export const TOOL_NAMES = ['tool_alpha', 'tool_beta', 'read_orders', 'read_files', 'issue_refund'] as const;
/** What a rule's `tools` may list: exact names and globs (some match several tools, some one). */
export const TOOL_PATTERNS = [...TOOL_NAMES, 'tool_*', 'read_*', '*_orders', 'tool_?eta', 'read_?????', '*', 'delete_*'] as const;
export const ROLES = ['support', 'finance', 'admin'] as const;
export const TENANTS = ['acme', 'globex'] as const;
export const RISKS = ['low', 'high'] as const;
/** Policy ids chosen so that rule keys (`policy/rule`) interleave: '.' and '-' sort before '/'. */
export const POLICY_IDS = ['alpha', 'alpha.beta', 'beta', 'b-1', 'gamma', 'zeta_9'] as const;
export const EFFECTS: readonly Effect[] = ['allow', 'deny', 'require_approval'];

/** Effective windows relative to NOW (2026-01-01T00:00:00Z). */
export const WINDOWS: ReadonlyArray<{ from?: string; until?: string }> = [
  { from: '2025-01-01T00:00:00Z' },
  { until: '2025-06-01T00:00:00Z' },
  { from: '2026-06-01T00:00:00Z' },
  { from: '2025-12-31T00:00:00Z', until: '2026-01-01T00:00:00Z' }, // ends exactly at NOW: inactive
  { from: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' }, // starts exactly at NOW: active
];

// ---------------------------------------------------------------------------------------------
// Requests

export interface RequestModel {
  tenant: string;
  agentId: string;
  roles: string[];
  trust: TrustLevel;
  action: string;
  tool: string;
  /** Absent means `args` has no `amount` key. */
  amount?: number;
  /** Absent means `context` has no `risk` key. */
  risk?: string;
}

const amountArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 600 }).map((n) => n / 2),
  fc.constantFrom(99.9, 100, 100.5, 250, 250.5),
);

export const requestArb: fc.Arbitrary<RequestModel> = fc.record({
  tenant: fc.constantFrom(...TENANTS),
  agentId: fc.constantFrom('agent-1', 'support-bot'),
  roles: fc.subarray([...ROLES]),
  trust: fc.constantFrom(...TRUST_LEVELS),
  action: fc.constantFrom(...ACTIONS),
  tool: fc.constantFrom(...TOOL_NAMES),
  amount: fc.option(amountArb, { nil: undefined }),
  risk: fc.option(fc.constantFrom(...RISKS), { nil: undefined }),
});

export function toActionRequest(model: RequestModel, requestId = 'req-1'): ActionRequest {
  const args: Record<string, number | string> = { order_id: 'o-1' };
  if (model.amount !== undefined) args.amount = model.amount;
  const context: Record<string, string> = {};
  if (model.risk !== undefined) context.risk = model.risk;
  const parsed = parseActionRequest({
    requestId,
    tenant: model.tenant,
    actor: { agent: { id: model.agentId, roles: model.roles, trust: model.trust } },
    action: model.action,
    resource: { type: 'tool', id: model.tool, tenant: model.tenant },
    args,
    context,
  });
  if (!parsed.ok) throw new Error(`generated request is invalid: ${parsed.errors.join('; ')}`);
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------
// Conditions

export type CmpOp = '>' | '>=' | '<' | '<=' | '==';

export type Cond =
  | { k: 'lit'; v: boolean }
  | { k: 'role'; role: string }
  | { k: 'amount'; op: CmpOp; n: number }
  | { k: 'tenant'; t: string }
  | { k: 'risk'; v: string }
  | { k: 'has' }
  | { k: 'trust'; level: TrustLevel }
  | { k: 'missing' }
  | { k: 'not'; c: Cond }
  | { k: 'and'; a: Cond; b: Cond }
  | { k: 'or'; a: Cond; b: Cond };

/** Three-valued result of a condition: true, false, or a runtime error. */
export type Tri = 'T' | 'F' | 'E';

const atomArb: fc.Arbitrary<Cond> = fc.oneof(
  fc.boolean().map((v): Cond => ({ k: 'lit', v })),
  fc.constantFrom(...ROLES).map((role): Cond => ({ k: 'role', role })),
  fc
    .record({
      op: fc.constantFrom<CmpOp>('>', '>=', '<', '<=', '=='),
      n: fc.oneof(fc.constantFrom(0, 50, 100, 150, 250), fc.constantFrom(100.5, 99.5, 250.5)),
    })
    .map(({ op, n }): Cond => ({ k: 'amount', op, n })),
  fc.constantFrom(...TENANTS).map((t): Cond => ({ k: 'tenant', t })),
  fc.constantFrom(...RISKS).map((v): Cond => ({ k: 'risk', v })),
  fc.constant<Cond>({ k: 'has' }),
  fc.constantFrom(...TRUST_LEVELS).map((level): Cond => ({ k: 'trust', level })),
  fc.constant<Cond>({ k: 'missing' }),
);

export const condArb: fc.Arbitrary<Cond> = fc.letrec<{ cond: Cond }>((tie) => ({
  cond: fc.oneof(
    { maxDepth: 3, depthSize: 'small', withCrossShrink: true },
    { arbitrary: atomArb, weight: 4 },
    { arbitrary: tie('cond').map((c): Cond => ({ k: 'not', c })), weight: 1 },
    { arbitrary: fc.tuple(tie('cond'), tie('cond')).map(([a, b]): Cond => ({ k: 'and', a, b })), weight: 1 },
    { arbitrary: fc.tuple(tie('cond'), tie('cond')).map(([a, b]): Cond => ({ k: 'or', a, b })), weight: 1 },
  ),
})).cond;

/** The CEL source of a condition. */
export function celText(c: Cond): string {
  switch (c.k) {
    case 'lit':
      return String(c.v);
    case 'role':
      return `'${c.role}' in agent.roles`;
    case 'amount':
      // Integers are written as CEL ints (`100`), others as doubles (`100.5`): JSON numbers
      // arrive as doubles, so both int and double comparisons are exercised.
      return `args.amount ${c.op} ${String(c.n)}`;
    case 'tenant':
      return `tenant == '${c.t}'`;
    case 'risk':
      return `context.risk == '${c.v}'`;
    case 'has':
      return 'has(args.amount)';
    case 'trust':
      return `trust_at_least('${c.level}')`;
    case 'missing':
      return 'args.missing_key > 1';
    case 'not':
      return `!(${celText(c.c)})`;
    case 'and':
      return `(${celText(c.a)}) && (${celText(c.b)})`;
    case 'or':
      return `(${celText(c.a)}) || (${celText(c.b)})`;
  }
}

const tri = (b: boolean): Tri => (b ? 'T' : 'F');

/** Evaluates a condition for a request in plain JS, with CEL's error semantics. */
export function evalCond(c: Cond, r: RequestModel): Tri {
  switch (c.k) {
    case 'lit':
      return tri(c.v);
    case 'role':
      return tri(r.roles.includes(c.role));
    case 'amount': {
      if (r.amount === undefined) return 'E'; // no such key
      const a = r.amount;
      const n = c.n;
      const results: Record<CmpOp, boolean> = { '>': a > n, '>=': a >= n, '<': a < n, '<=': a <= n, '==': a === n };
      return tri(results[c.op]);
    }
    case 'tenant':
      return tri(r.tenant === c.t);
    case 'risk':
      return r.risk === undefined ? 'E' : tri(r.risk === c.v);
    case 'has':
      return tri(r.amount !== undefined);
    case 'trust':
      return tri(TRUST_LEVELS.indexOf(r.trust) >= TRUST_LEVELS.indexOf(c.level));
    case 'missing':
      return 'E';
    case 'not': {
      const v = evalCond(c.c, r);
      return v === 'E' ? 'E' : v === 'T' ? 'F' : 'T';
    }
    case 'and': {
      const a = evalCond(c.a, r);
      const b = evalCond(c.b, r);
      if (a === 'F' || b === 'F') return 'F';
      if (a === 'T' && b === 'T') return 'T';
      return 'E';
    }
    case 'or': {
      const a = evalCond(c.a, r);
      const b = evalCond(c.b, r);
      if (a === 'T' || b === 'T') return 'T';
      if (a === 'F' && b === 'F') return 'F';
      return 'E';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Policies

export type ObligationModel =
  | { redact: string[] }
  | { cap: { arg: string; max: number } }
  | { require_idempotency_key: true };

export interface ApprovalModel {
  approvers: string[];
  quorum: number;
  expires: string;
  allow_requester: boolean;
}

export interface RuleModel {
  id: string;
  effect: Effect;
  actions?: string[];
  tools?: string[];
  when?: Cond;
  reason?: string;
  obligations?: ObligationModel[];
  approval?: ApprovalModel;
}

export interface PolicyModel {
  id: string;
  version: number;
  mode: 'enforce' | 'shadow';
  effective?: { from?: string; until?: string };
  rules: RuleModel[];
}

const REDACT_PATHS = ['result.email', 'result.orders[*].ssn', 'args.card', 'result.items[0].secret'];
/** Distinct durations, so "shortest expiry" never has to break a tie between spellings. */
export const EXPIRIES = ['15m', '1h', '2h', '1d'] as const;

const obligationArb: fc.Arbitrary<ObligationModel> = fc.oneof(
  fc.subarray(REDACT_PATHS, { minLength: 1 }).map((paths): ObligationModel => ({ redact: paths })),
  fc
    .record({ arg: fc.constantFrom('limit', 'amount'), max: fc.constantFrom(10, 100, 1000) })
    .map((cap): ObligationModel => ({ cap })),
  fc.constant<ObligationModel>({ require_idempotency_key: true }),
);

const approvalArb: fc.Arbitrary<ApprovalModel> = fc.record({
  approvers: fc.subarray(['role:finance', 'role:manager', 'user:bob'], { minLength: 1 }),
  quorum: fc.integer({ min: 1, max: 3 }),
  expires: fc.constantFrom(...EXPIRIES),
  allow_requester: fc.boolean(),
});

const opt = <T>(arb: fc.Arbitrary<T>, freq: number) => fc.option(arb, { nil: undefined, freq });

/** A rule without an id; ids are assigned by position so they are unique within a policy. */
const ruleBodyArb: fc.Arbitrary<Omit<RuleModel, 'id'>> = fc
  .record({
    effect: fc.constantFrom(...EFFECTS),
    actions: opt(fc.subarray([...ACTIONS], { minLength: 1 }), 2),
    tools: opt(fc.subarray([...TOOL_PATTERNS], { minLength: 1, maxLength: 3 }), 3),
    when: opt(condArb, 5),
    reason: opt(fc.constantFrom('blocked by policy', '${agent.id} asked for ${action}', 'see runbook'), 2),
    obligations: opt(fc.array(obligationArb, { minLength: 1, maxLength: 3 }), 2),
    approval: opt(approvalArb, 2),
  })
  .map((r) => {
    const rule: Omit<RuleModel, 'id'> = { effect: r.effect };
    if (r.actions) rule.actions = r.actions;
    if (r.tools) rule.tools = r.tools;
    if (r.when) rule.when = r.when;
    if (r.reason) rule.reason = r.reason;
    // Deny rules cannot carry obligations; only require_approval rules carry approval settings.
    if (r.obligations && r.effect !== 'deny') rule.obligations = r.obligations;
    if (r.approval && r.effect === 'require_approval') rule.approval = r.approval;
    return rule;
  });

const RULE_ID_STYLES = [(i: number) => `r${i}`, (i: number) => `rule-${i}`, (i: number) => `r.${i}`];

function policyArbWithId(id: string, shadowFreq: number): fc.Arbitrary<PolicyModel> {
  return fc
    .record({
      version: fc.integer({ min: 1, max: 20 }),
      shadow: fc.integer({ min: 0, max: 99 }).map((n) => n < shadowFreq),
      effective: opt(fc.constantFrom(...WINDOWS), 4),
      idStyle: fc.integer({ min: 0, max: RULE_ID_STYLES.length - 1 }),
      rules: fc.array(ruleBodyArb, { minLength: 1, maxLength: 5 }),
    })
    .map(({ version, shadow, effective, idStyle, rules }) => {
      const policy: PolicyModel = {
        id,
        version,
        mode: shadow ? 'shadow' : 'enforce',
        rules: rules.map((r, i) => ({ id: RULE_ID_STYLES[idStyle]!(i), ...r })),
      };
      if (effective) policy.effective = { ...effective };
      return policy;
    });
}

/**
 * A set of 1–4 policies with distinct ids. `shadowPercent` is the chance that a policy is in
 * shadow mode (0 for purely enforced sets).
 */
export function policySetArb(shadowPercent = 10): fc.Arbitrary<PolicyModel[]> {
  return fc
    .uniqueArray(fc.constantFrom(...POLICY_IDS), { minLength: 1, maxLength: 4 })
    .chain((ids) => fc.tuple(...ids.map((id) => policyArbWithId(id, shadowPercent))));
}

// ---------------------------------------------------------------------------------------------
// Rendering to YAML and compiling

export interface RenderOptions {
  /** Write fields that have defaults even when they hold the default value. */
  explicitDefaults?: boolean;
  /** Reverse the key order of every mapping. */
  reverseKeys?: boolean;
  /** YAML formatting. */
  style?: 'default' | 'indent4' | 'double-quoted' | 'flow';
  comments?: boolean;
}

function ruleDocument(rule: RuleModel, explicit: boolean): Record<string, unknown> {
  const doc: Record<string, unknown> = { id: rule.id, effect: rule.effect };
  if (rule.actions) doc.actions = rule.actions;
  if (rule.tools) doc.tools = rule.tools;
  if (rule.when) doc.when = celText(rule.when);
  if (rule.reason !== undefined) doc.reason = rule.reason;
  if (rule.obligations) doc.obligations = rule.obligations;
  if (rule.approval) {
    const a = rule.approval;
    const approval: Record<string, unknown> = { approvers: a.approvers };
    if (explicit || a.quorum !== 1) approval.quorum = a.quorum;
    if (explicit || a.expires !== '1h') approval.expires = a.expires;
    if (explicit || a.allow_requester) approval.allow_requester = a.allow_requester;
    doc.approval = approval;
  }
  return doc;
}

export function policyDocument(policy: PolicyModel, explicit = false): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    id: policy.id,
    // `version: 3` and `version: "3"` mean the same thing.
    version: explicit ? String(policy.version) : policy.version,
  };
  if (explicit || policy.mode !== 'enforce') doc.mode = policy.mode;
  if (policy.effective) doc.effective = policy.effective;
  doc.rules = policy.rules.map((r) => ruleDocument(r, explicit));
  return doc;
}

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  }
  return value;
}

export function renderPolicy(policy: PolicyModel, options: RenderOptions = {}): string {
  let doc: unknown = policyDocument(policy, options.explicitDefaults === true);
  if (options.reverseKeys) doc = reverseKeys(doc);
  let text: string;
  switch (options.style ?? 'default') {
    case 'indent4':
      text = stringify(doc, { indent: 4 });
      break;
    case 'double-quoted':
      text = stringify(doc, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
      break;
    case 'flow':
      text = stringify(doc, { collectionStyle: 'flow' });
      break;
    default:
      text = stringify(doc);
  }
  if (options.comments) text = `# policy ${policy.id}, reviewed in Git\n\n${text}# end of ${policy.id}\n`;
  return text;
}

export const renderOptionsArb: fc.Arbitrary<RenderOptions> = fc.record({
  explicitDefaults: fc.boolean(),
  reverseKeys: fc.boolean(),
  style: fc.constantFrom('default', 'indent4', 'double-quoted', 'flow'),
  comments: fc.boolean(),
});

export interface Source {
  file: string;
  text: string;
}

export function toSources(policies: readonly PolicyModel[], options: RenderOptions = {}, prefix = 'policies/'): Source[] {
  return policies.map((p) => ({ file: `${prefix}${p.id}.yaml`, text: renderPolicy(p, options) }));
}

/** Compiles sources and fails loudly (with the diagnostics) if the generated set is invalid. */
export function compileOrThrow(sources: readonly Source[], options: CompileOptions = {}): PolicySet {
  const { policySet, diagnostics } = compilePolicies(sources, options);
  if (!policySet || hasErrors(diagnostics)) {
    const listing = sources.map((s) => `--- ${s.file}\n${s.text}`).join('\n');
    throw new Error(`generated policies did not compile:\n${diagnostics.map(formatDiagnostic).join('\n')}\n${listing}`);
  }
  return policySet;
}

export function compileModels(policies: readonly PolicyModel[], options: RenderOptions = {}): PolicySet {
  return compileOrThrow(toSources(policies, options));
}

// ---------------------------------------------------------------------------------------------
// The oracle: what the decision must be, computed without the engine

/** Glob matching written independently of src/policy/glob.ts: `*` any run, `?` one character. */
export function globMatch(pattern: string, name: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    if (i === pattern.length) result = j === name.length;
    else if (pattern[i] === '*') result = go(i + 1, j) || (j < name.length && go(i, j + 1));
    else if (j === name.length) result = false;
    else result = (pattern[i] === '?' || pattern[i] === name[j]) && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/** Whether a rule is selected for the request's action and tool. */
export function applies(rule: RuleModel, r: RequestModel): boolean {
  const actionOk = !rule.actions || rule.actions.includes(r.action);
  const toolOk = !rule.tools || rule.tools.some((t) => globMatch(t, r.tool));
  return actionOk && toolOk;
}

export function isActive(policy: PolicyModel, now: Date): boolean {
  const at = now.getTime();
  const from = policy.effective?.from;
  const until = policy.effective?.until;
  if (from !== undefined && at < Date.parse(from)) return false;
  if (until !== undefined && at >= Date.parse(until)) return false;
  return true;
}

export interface RuleOutcome {
  key: string;
  policy: PolicyModel;
  rule: RuleModel;
  value: Tri;
  /** Counts as matched: true, or an error on a deny / require_approval rule (fail closed). */
  matched: boolean;
}

/** Every rule that applies to the request and belongs to an active policy, with its outcome. */
export function outcomes(policies: readonly PolicyModel[], r: RequestModel, now: Date, mode: 'enforce' | 'shadow'): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  for (const policy of policies) {
    if (policy.mode !== mode || !isActive(policy, now)) continue;
    for (const rule of policy.rules) {
      if (!applies(rule, r)) continue;
      const value: Tri = rule.when ? evalCond(rule.when, r) : 'T';
      const matched = value === 'T' || (value === 'E' && rule.effect !== 'allow');
      out.push({ key: `${policy.id}/${rule.id}`, policy, rule, value, matched });
    }
  }
  return out;
}

export interface Expectation {
  effect: Effect;
  /** Keys (`policy/rule`) of the enforced rules that matched with the deciding effect, sorted. */
  matched: string[];
  /** Enforced matching rules by effect. */
  deny: RuleOutcome[];
  requireApproval: RuleOutcome[];
  allow: RuleOutcome[];
  /** Number of deciding-effect rules that matched only because their condition failed. */
  errorMatches: number;
  approval?: ApprovalRequirement;
  /**
   * For allow decisions the merged obligations of the matching allow rules; for require_approval
   * decisions those of the matching require_approval and allow rules (they apply once approved).
   * Normalised (see normaliseObligations).
   */
  obligations?: NormalisedObligations;
}

export function expectDecision(policies: readonly PolicyModel[], r: RequestModel, now: Date = NOW): Expectation {
  const matched = outcomes(policies, r, now, 'enforce').filter((o) => o.matched);
  const deny = matched.filter((o) => o.rule.effect === 'deny');
  const requireApproval = matched.filter((o) => o.rule.effect === 'require_approval');
  const allow = matched.filter((o) => o.rule.effect === 'allow');
  const winners = deny.length ? deny : requireApproval.length ? requireApproval : allow;
  const effect: Effect = deny.length ? 'deny' : requireApproval.length ? 'require_approval' : allow.length ? 'allow' : 'deny';
  const expectation: Expectation = {
    effect,
    matched: winners.map((o) => o.key).sort(),
    deny,
    requireApproval,
    allow,
    errorMatches: winners.filter((o) => o.value === 'E').length,
  };
  if (effect === 'require_approval' && !deny.length) {
    const list = requireApproval.map((o) => o.rule.approval ?? { approvers: ['role:approver'], quorum: 1, expires: '1h', allow_requester: false });
    const ms = (e: string) => ({ '15m': 15, '1h': 60, '2h': 120, '1d': 1440 })[e] ?? Infinity;
    expectation.approval = {
      approvers: [...new Set(list.flatMap((a) => a.approvers))].sort(),
      quorum: Math.max(...list.map((a) => a.quorum)),
      expiresIn: list.reduce((best, a) => (ms(a.expires) < ms(best.expires) ? a : best)).expires,
      allowRequester: list.every((a) => a.allow_requester),
    };
  }
  if (effect === 'allow' || effect === 'require_approval') {
    const contributing = effect === 'allow' ? allow : [...requireApproval, ...allow];
    expectation.obligations = normaliseObligationModels(contributing.flatMap((o) => o.rule.obligations ?? []));
  }
  return expectation;
}

export interface ShadowExpectation {
  policy: string;
  effect: Effect;
  /** Rule ids that could be reported as the shadow winner (all matching rules with that effect). */
  rules: string[];
}

/**
 * For every shadow policy with at least one rule selected for the request (active or not): what it
 * would have decided on its own.
 */
export function expectShadow(policies: readonly PolicyModel[], r: RequestModel, now: Date = NOW): ShadowExpectation[] {
  const out: ShadowExpectation[] = [];
  for (const policy of policies) {
    if (policy.mode !== 'shadow' || !policy.rules.some((rule) => applies(rule, r))) continue;
    const matched = outcomes([policy], r, now, 'shadow').filter((o) => o.matched);
    const effect = (['deny', 'require_approval', 'allow'] as const).find((e) => matched.some((o) => o.rule.effect === e));
    out.push({
      policy: policy.id,
      effect: effect ?? 'deny',
      rules: effect ? matched.filter((o) => o.rule.effect === effect).map((o) => o.rule.id) : [],
    });
  }
  return out.sort((a, b) => (a.policy < b.policy ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// Obligations, compared by meaning rather than list layout

export interface NormalisedObligations {
  redact: string[];
  caps: Array<[string, number]>;
  idempotencyKeys: string[];
  other: string[];
}

/** The most restrictive reading of a list: redact paths unioned, the smallest cap per argument. */
export function normaliseObligations(list: readonly Obligation[]): NormalisedObligations {
  const redact = new Set<string>();
  const caps = new Map<string, number>();
  const keys = new Set<string>();
  const other: string[] = [];
  for (const o of list) {
    if (o.type === 'redact') o.paths.forEach((p) => redact.add(p));
    else if (o.type === 'cap') caps.set(o.arg, Math.min(o.max, caps.get(o.arg) ?? Infinity));
    else if (o.type === 'require_idempotency_key') keys.add(o.arg);
    else other.push(JSON.stringify(o));
  }
  return {
    redact: [...redact].sort(),
    caps: [...caps].sort(([a], [b]) => (a < b ? -1 : 1)),
    idempotencyKeys: [...keys].sort(),
    other: other.sort(),
  };
}

export function normaliseObligationModels(list: readonly ObligationModel[]): NormalisedObligations {
  return normaliseObligations(
    list.map((o): Obligation => {
      if ('redact' in o) return { type: 'redact', paths: o.redact };
      if ('cap' in o) return { type: 'cap', arg: o.cap.arg, max: o.cap.max };
      return { type: 'require_idempotency_key', arg: 'idempotency_key' };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Transformations

/** A permutation of an array (shrinks towards the original order). */
export function permutationArb<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
}

/** The same set with the rules of every policy, and the policies themselves, reordered. */
export function shuffledSetArb(policies: readonly PolicyModel[]): fc.Arbitrary<PolicyModel[]> {
  return fc
    .tuple(permutationArb(policies), ...policies.map((p) => permutationArb(p.rules)))
    .map(([order, ...ruleOrders]) => {
      const byId = new Map(policies.map((p, i) => [p.id, { ...p, rules: ruleOrders[i]! }]));
      return order.map((p) => byId.get(p.id)!);
    });
}

/** A rule with a different effect, still valid (obligations and approval dropped where not allowed). */
export function withEffect(rule: RuleModel, effect: Effect): RuleModel {
  const copy: RuleModel = { ...rule, effect };
  if (effect === 'deny') delete copy.obligations;
  if (effect !== 'require_approval') delete copy.approval;
  return copy;
}

/** allow ↔ deny, require_approval → allow. */
export function flipped(effect: Effect): Effect {
  return effect === 'allow' ? 'deny' : 'allow';
}
