import type { ActionRequest } from '../model/action-request.js';
import type { ApprovalRequirement, Decision, RuleTrace, ShadowResult } from '../model/decision.js';
import type { Effect } from '../model/effect.js';
import type { Obligation } from '../model/obligation.js';
import { buildActivation } from './activation.js';
import { enterScope } from './cel-environment.js';
import { parseDuration } from '../lib/duration.js';
import { mergeObligations } from './obligation-parse.js';
import type { CompiledRule, PolicySet } from './policy-set.js';
import { firstLine } from '../lib/diagnostic.js';
import { DEFAULT_REASON, renderReason } from './reason-template.js';
import { judge, missingKeyError } from './condition-plan.js';
import type { ConditionIndex } from './condition-index.js';
import type { RuleIndex } from './rule-index.js';

export interface DecideOptions {
  /** The instant the decision is made for (effective windows, `now` in CEL). Default: the clock. */
  now?: Date;
  /** Record why every candidate rule did or did not match. Costs time; off on the hot path. */
  explain?: boolean;
}

/** How one rule fared: matched, not, outside its policy's window, or its condition failed. */
export type RuleResult = 'matched' | 'not_matched' | 'inactive' | { error: string };

/** A rule that counts as matched (its condition was true, or failed on a deny/approval rule). */
interface Match {
  rule: CompiledRule;
  error?: string;
}

const counts = (rule: CompiledRule, result: RuleResult) =>
  result === 'matched' || (typeof result === 'object' && rule.effect !== 'allow');

/**
 * The PDP. Pure: the same policy set, request and instant give the same decision, and it does
 * no I/O. It never throws; anything unexpected is a deny (fail closed).
 */
export function decide(policySet: PolicySet, request: ActionRequest, options: DecideOptions = {}): Decision {
  const now = options.now ?? new Date();
  try {
    return evaluate(policySet, request, now, options.explain === true);
  } catch (error) {
    return {
      ...baseDecision(policySet, request),
      effect: 'deny',
      reason: `policy evaluation failed, denied (fail closed): ${firstLine((error as Error)?.message)}`,
    };
  }
}

function baseDecision(policySet: PolicySet, request: ActionRequest): Decision {
  return {
    // Optional chaining: this also builds the deny for a malformed request that made evaluation throw.
    requestId: request?.requestId ?? '',
    effect: 'deny',
    reason: '',
    bundle: policySet.bundle,
    obligations: [],
    advice: [],
    matched: [],
    shadow: [],
  };
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Callers are meant to pass a request from parseActionRequest; this cheap check makes sure one
 * that skipped it (a bug in a surface) is denied rather than matched by a rule with no condition.
 */
function assertDecidable(request: ActionRequest): void {
  if (
    !isObject(request) ||
    !isObject(request.actor) ||
    !isObject(request.actor.agent) ||
    typeof request.actor.agent.id !== 'string' ||
    typeof request.tenant !== 'string' ||
    typeof request.action !== 'string' ||
    !isObject(request.resource) ||
    typeof request.resource.id !== 'string' ||
    !isObject(request.args) ||
    !isObject(request.context)
  ) {
    throw new Error('malformed request (validate it with parseActionRequest)');
  }
}

function evaluate(policySet: PolicySet, request: ActionRequest, now: Date, explain: boolean): Decision {
  assertDecidable(request);
  const candidates = policySet.index.candidates(request.action, request.resource.id);
  const activation = buildActivation(request, now, policySet.data.values);
  enterScope(request.actor.agent.trust, request.relationships, now.getTime());
  const at = now.getTime();
  const traces: RuleTrace[] | undefined = explain ? [] : undefined;

  // Deny overrides: once a deny matched, approval and allow rules cannot change the decision, so
  // they are only evaluated when an explanation was asked for. Allow rules are evaluated under an
  // approval too, because their obligations apply once the action is approved.
  // The condition index leaves out rules whose conditions cannot hold for this request; an
  // explanation lists every candidate, so it walks them all.
  const run = (effect: 'deny' | 'requireApproval' | 'allow'): Matched =>
    traces ? walk(candidates[effect], activation, at, traces) : narrowed(candidates.byCondition[effect], activation, at);
  const denies = run('deny');
  const undenied = denies.orders.length === 0 || explain;
  const approvals = undenied ? run('requireApproval') : NONE;
  const allows = undenied ? run('allow') : NONE;
  const shadow = candidates.shadow.length ? shadowResults(candidates.shadow, activation, at, traces) : [];

  const decision = baseDecision(policySet, request);
  decision.shadow = shadow;
  const rules = (m: Matched) => m.orders.map((o) => policySet.rules[o]!);
  // A guard policy's approval holds what another rule allows; alone it does not lift the default deny.
  const holds = approvals.orders.length > 0 && (allows.orders.length > 0 || rules(approvals).some((r) => !r.policy.cautionOnly));
  if (denies.orders.length > 0) conclude(decision, 'deny', denies, policySet, activation);
  else if (holds) {
    conclude(decision, 'require_approval', approvals, policySet, activation);
    decision.approval = mergeApprovals(rules(approvals).map((r) => r.approval!));
    decision.obligations = obligations(policySet, [approvals, allows]);
  } else if (allows.orders.length > 0) {
    conclude(decision, 'allow', allows, policySet, activation);
    decision.obligations = obligations(policySet, [allows]);
  } else {
    decision.reason = 'no rule allowed this action';
  }

  if (traces) {
    const deciding = decision.rule ? `${decision.policy}/${decision.rule}` : 'the default (deny)';
    decision.explanation = {
      candidates: traces,
      rulesInSet: policySet.rules.length,
      summary: `${candidates.size} of ${policySet.rules.length} rules apply to ${request.action} on ${request.resource.id}; ${decision.effect} by ${deciding}`,
    };
  }
  return decision;
}

/**
 * The rules of one effect that counted as matched, by CompiledRule.order (the set's order), and
 * for those whose condition failed (counted closed), the error, at the same position.
 */
interface Matched {
  orders: number[];
  errors?: Array<string | undefined>;
}

const NONE: Matched = Object.freeze({ orders: [] }) as unknown as Matched;

function record(matched: Matched, rule: CompiledRule, result: RuleResult): void {
  if (typeof result === 'object') {
    (matched.errors ??= new Array<string | undefined>(matched.orders.length)).push(result.error);
  } else if (matched.errors) matched.errors.push(undefined);
  matched.orders.push(rule.order);
}

/** Every candidate of one effect, in order, each traced (an explanation). */
function walk(rules: readonly CompiledRule[], activation: Record<string, unknown>, at: number, traces: RuleTrace[]): Matched {
  const matched: Matched = { orders: [] };
  for (const rule of rules) {
    const result = evaluateRule(rule, activation, at);
    traces.push(trace(rule, result));
    if (counts(rule, result)) record(matched, rule, result);
  }
  return matched;
}

/** Reused by every decision: evaluation is synchronous, and both are emptied before use. */
const sureScratch: number[] = [];
const maybeScratch: CompiledRule[] = [];

/** The rules of one effect the condition index leaves, judged; what matched put in the set's order. */
function narrowed(index: ConditionIndex, activation: Record<string, unknown>, at: number): Matched {
  if (sureScratch.length) sureScratch.length = 0;
  if (maybeScratch.length) maybeScratch.length = 0;
  index.collect(activation, sureScratch, maybeScratch);
  if (sureScratch.length === 0 && maybeScratch.length === 0) return NONE;
  const matched: Matched = { orders: sureScratch.slice() };
  for (let i = 0; i < maybeScratch.length; i++) {
    const rule = maybeScratch[i]!;
    const result = evaluateFast(rule, activation, at);
    if (counts(rule, result)) record(matched, rule, result);
  }
  if (matched.orders.length > 1) sortMatched(matched);
  return matched;
}

/** Sorts the matched rules into the set's order, errors alongside. */
function sortMatched(matched: Matched): void {
  const { orders, errors } = matched;
  if (!errors) {
    // A handful of matches at most, usually: an insertion sort, with no comparator to call back.
    if (orders.length > 16) return void orders.sort(ascending);
    for (let i = 1; i < orders.length; i++) {
      const o = orders[i]!;
      let j = i - 1;
      for (; j >= 0 && orders[j]! > o; j--) orders[j + 1] = orders[j]!;
      orders[j + 1] = o;
    }
    return;
  }
  const pairs = orders.map((order, i) => ({ order, error: errors[i] }));
  pairs.sort((a, b) => a.order - b.order);
  matched.orders = pairs.map((p) => p.order);
  matched.errors = pairs.map((p) => p.error);
}

const ascending = (a: number, b: number) => a - b;

/**
 * Merged obligations by the rules that carry them (their orders, in the order merged), per set:
 * the same few rules match request after request, and merging (sets, sorts, a JSON key per
 * obligation) cost more than the rest of an allow.
 */
const mergedBySet = new WeakMap<RuleIndex, Map<string, readonly Obligation[]>>();

/** The merged obligations of the matched rules; none without reading a rule when none carry any. */
function obligations(policySet: PolicySet, lists: readonly Matched[]): Obligation[] {
  const { obligated } = policySet.index;
  let key = '';
  for (const m of lists) for (const o of m.orders) if (obligated[o] === 1) key = key === '' ? `${o}` : `${key},${o}`;
  if (key === '') return [];
  let merged = mergedBySet.get(policySet.index);
  if (!merged) mergedBySet.set(policySet.index, (merged = new Map()));
  let list = merged.get(key);
  if (!list) {
    list = mergeObligations(lists.flatMap((m) => m.orders.map((o) => policySet.rules[o]!.obligations)));
    if (merged.size >= 4_096) merged.clear();
    merged.set(key, list);
  }
  return list.map(fresh);
}

/** A copy as mergeObligations would have made it: its own redact and cap objects, the rules' others. */
function fresh(o: Obligation): Obligation {
  if (o.type === 'redact') return { type: 'redact', paths: o.paths.slice() };
  if (o.type === 'cap') return { type: 'cap', arg: o.arg, max: o.max };
  return o;
}

/** evaluateRule, with the common conjunct shapes judged without CEL (condition-plan.ts). */
function evaluateFast(rule: CompiledRule, activation: Record<string, unknown>, at: number): RuleResult {
  if (!rule.when || !rule.plan) return evaluateRule(rule, activation, at);
  const { from, until } = rule.policy;
  if ((from !== undefined && at < from) || (until !== undefined && at >= until)) return 'inactive';
  const known = judge(rule.plan, activation);
  if (known === undefined) {
    // A field the request does not carry fails the condition as CEL would, without its error path.
    const error = missingKeyError(rule.plan, activation);
    return error === undefined ? evaluateRule(rule, activation, at) : { error };
  }
  return known ? 'matched' : 'not_matched';
}

/** One rule on one activation (also used by the list decision). */
export function evaluateRule(rule: CompiledRule, activation: Record<string, unknown>, at: number): RuleResult {
  const { from, until } = rule.policy;
  if ((from !== undefined && at < from) || (until !== undefined && at >= until)) return 'inactive';
  if (!rule.when) return 'matched';
  try {
    const value = rule.when(activation);
    // A condition like `args.flag` type-checks as dyn; a caller must not be able to switch a deny
    // off by sending "yes" instead of true, so anything but a bool is an error (fail closed).
    if (typeof value !== 'boolean') return { error: `condition returned ${describe(value)}, not a bool` };
    return value ? 'matched' : 'not_matched';
  } catch (error) {
    return { error: firstLine((error as Error)?.message) };
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value === 'bigint' ? 'int' : typeof value}`;
}

function trace(rule: CompiledRule, result: RuleResult): RuleTrace {
  const base = { policy: rule.policy.id, policyVersion: rule.policy.version, rule: rule.id, effect: rule.effect, mode: rule.policy.mode };
  if (result === 'inactive') return { ...base, outcome: 'inactive', detail: 'policy is outside its effective window' };
  if (typeof result === 'object') {
    const counted = rule.effect === 'allow' ? 'not matched' : 'matched';
    return { ...base, outcome: 'error', detail: `condition failed (${result.error}); counted as ${counted} (fail closed)` };
  }
  const condition = rule.whenSource ? `condition ${rule.whenSource}` : 'no condition';
  return { ...base, outcome: result, detail: `${condition}: ${result === 'matched'}` };
}

/** Sets effect, deciding rule (the first in the set's order) and reason from the matched rules. */
function conclude(decision: Decision, effect: Effect, matched: Matched, policySet: PolicySet, activation: Record<string, unknown>): void {
  const { orders, errors } = matched;
  const { keys, conclusions } = policySet.index;
  const first = orders[0]!;
  const at = first * 4;
  decision.effect = effect;
  const fixed = conclusions[at + 3];
  if (fixed !== undefined) {
    decision.policy = conclusions[at]!;
    decision.rule = conclusions[at + 1]!;
    decision.policyVersion = conclusions[at + 2]!;
    decision.reason = fixed;
  } else {
    const rule = policySet.rules[first]!;
    decision.policy = rule.policy.id;
    decision.rule = rule.id;
    decision.policyVersion = rule.policy.version;
    decision.reason = ruleReason(rule, activation) + rule.attribution;
  }
  const keyList = new Array<string>(orders.length);
  for (let i = 0; i < orders.length; i++) keyList[i] = keys[orders[i]!]!;
  decision.matched = keyList;
  if (!errors) return;
  orders.forEach((o, i) => {
    if (errors[i] !== undefined) decision.advice.push(`rule ${keys[o]}: condition failed (${errors[i]}); treated as matched (fail closed)`);
  });
}

function ruleReason(rule: CompiledRule, activation: Record<string, unknown>): string {
  if (rule.reason === undefined) return DEFAULT_REASON[rule.effect];
  return typeof rule.reason === 'string' ? rule.reason : renderReason(rule.reason, activation);
}

/** Every approval requirement must be met: union of approvers, largest quorum, shortest expiry. */
function mergeApprovals(list: readonly ApprovalRequirement[]): ApprovalRequirement {
  const shortest = list.reduce((a, b) => ((parseDuration(b.expiresIn) ?? Infinity) < (parseDuration(a.expiresIn) ?? Infinity) ? b : a));
  return {
    approvers: [...new Set(list.flatMap((a) => a.approvers))].sort(),
    quorum: Math.max(...list.map((a) => a.quorum)),
    expiresIn: shortest.expiresIn,
    allowRequester: list.every((a) => a.allowRequester),
  };
}

/** What each shadow policy would have decided on its own, had it been enforced. */
function shadowResults(
  rules: readonly CompiledRule[],
  activation: Record<string, unknown>,
  at: number,
  traces: RuleTrace[] | undefined,
): ShadowResult[] {
  const byPolicy = new Map<string, Match[]>();
  for (const rule of rules) {
    const result = traces ? evaluateRule(rule, activation, at) : evaluateFast(rule, activation, at);
    if (traces) traces.push(trace(rule, result));
    const list = byPolicy.get(rule.policy.id) ?? [];
    if (counts(rule, result)) list.push({ rule });
    byPolicy.set(rule.policy.id, list);
  }
  const results: ShadowResult[] = [];
  for (const [policyId, matched] of byPolicy) {
    const rank = (e: Match) => ['deny', 'require_approval', 'allow'].indexOf(e.rule.effect);
    const winner = [...matched].sort((a, b) => rank(a) - rank(b))[0];
    const version = rules.find((r) => r.policy.id === policyId)!.policy.version;
    results.push(
      winner
        ? { policy: policyId, policyVersion: version, effect: winner.rule.effect, rule: winner.rule.id, reason: ruleReason(winner.rule, activation) }
        : { policy: policyId, policyVersion: version, effect: 'deny', reason: 'no rule of this policy matched' },
    );
  }
  return results;
}
