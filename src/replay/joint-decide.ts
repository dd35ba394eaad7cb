import type { Effect } from '../model/effect.js';
import { buildActivation } from '../policy/activation.js';
import { enterScope } from '../policy/cel-environment.js';
import { conditionReads, overlaps } from '../policy/condition-reads.js';
import { decide, evaluateRule, type RuleResult } from '../policy/decide.js';
import type { CompiledRule, PolicySet } from '../policy/policy-set.js';
import type { Candidates } from '../policy/rule-index.js';
import type { LoggedDecision, ReplayInput } from './replay-input.js';

/** What one policy set decides: the effect and the deciding rule (`policy/rule`; none for the default deny). */
export interface SideDecision {
  effect: Effect;
  rule?: string;
}

/** A rule whose condition reads a path replay does not know, and that path. */
export interface UnknownRead {
  rule: string;
  path: string[];
}

export type Replayed =
  | {
      kind: 'determined';
      current: SideDecision;
      candidate: SideDecision;
      /** Set when the deciding rule depends on an unknown value (the effects do not). */
      ruleUnknown?: true;
      /** Set when the effect itself is not known, only that both sets agree on it. */
      effectUnknown?: true;
    }
  | { kind: 'undetermined'; reads: UnknownRead[]; possible: Array<{ current: Effect; candidate: Effect }> };

/**
 * Beyond this many distinct unknown conditions, or combinations of their values times the rules
 * combined for each, a record is undetermined outright: the work per record stays bounded
 * whatever a candidate holds (the HTTP endpoint runs inside the gateway).
 */
const MAX_UNKNOWN_CONDITIONS = 10;
const MAX_WORK = 100_000;
const TWO: readonly RuleResult[] = ['matched', 'not_matched'];
const THREE: readonly RuleResult[] = ['matched', 'not_matched', { error: 'unknown' }];

/**
 * Decides one logged request with the current and the candidate policy set.
 *
 * When no rule that could apply (on either side) reads a value replay does not know, both are
 * decided by the PDP itself (`decide`), exactly as the gateway would. Otherwise every condition
 * that reads an unknown value may have been true, false or failing (a failing condition counts as
 * matched for deny and approval rules and not for allow rules: fail closed); the same condition
 * text on the same request has the same value on both sides. Every combination is decided; the
 * record is determined when all of them give the same pair of effects — else undetermined, with
 * the rules and paths that made it so. Nothing is ever guessed.
 *
 * That search tries every combination (2^10 of them for ten unknown conditions, a millisecond or
 * more), yet its answer depends only on which rules count as matched among those it does not
 * vary: with a `memo`, records that agree on all of that share one search.
 */
export function decideBoth(current: PolicySet, candidate: PolicySet, input: ReplayInput, memo?: JointMemo): Replayed {
  const { request } = input;
  const cc = current.index.candidates(request.action, request.resource.id);
  const kc = candidate.index.candidates(request.action, request.resource.id);
  const reads = input.unknown.length ? unknownReads([cc, kc], input) : [];
  if (reads.length === 0) {
    const now = new Date(input.now);
    return { kind: 'determined', current: sideOf(decide(current, request, { now })), candidate: sideOf(decide(candidate, request, { now })) };
  }
  // A condition that reads the policy set's reference data (`data.*`) may differ between the
  // sets even with the same text: it is a condition of its side only.
  const sideOfRule = (rule: CompiledRule) => (kc.deny.includes(rule) || kc.requireApproval.includes(rule) || kc.allow.includes(rule) ? 'candidate' : 'current');
  const keyOf = (rule: CompiledRule, source: string) => (conditionReads(source).some((p) => p[0] === 'data' || p[0] === '*') ? `${sideOfRule(rule)}\u0000${source}` : source);
  const keyed = reads.map((r) => ({ ...r, source: keyOf(r.rule, r.source) }));
  const conditions = [...new Set(keyed.map((r) => r.source))];
  const readList = reads.map((r) => ({ rule: r.rule.key, path: r.path }));
  // A failing condition counts as matched for deny and approval rules and as not matched for
  // allow rules: only a condition that both kinds of rule use has a third value worth trying.
  const domains = conditions.map((source) => {
    const effects = new Set(keyed.filter((r) => r.source === source).map((r) => r.rule.effect === 'allow'));
    return effects.size > 1 ? THREE : TWO;
  });
  const total = domains.reduce((n, d) => n * d.length, 1);
  if (conditions.length > MAX_UNKNOWN_CONDITIONS || total * (cc.size + kc.size) > MAX_WORK) return { kind: 'undetermined', reads: readList, possible: [] };

  const activations = {
    current: buildActivation(request, new Date(input.now), current.data?.values),
    candidate: buildActivation(request, new Date(input.now), candidate.data?.values),
  };
  enterScope(request.actor.agent.trust, request.relationships, input.now);
  const known = new Map<CompiledRule, RuleResult>();
  const slot = new Map<CompiledRule, number>(keyed.map((r) => [r.rule, conditions.indexOf(r.source)]));
  const assigned: RuleResult[] = new Array<RuleResult>(conditions.length);
  const inactive = (rule: CompiledRule) => {
    const { from, until } = rule.policy;
    return (from !== undefined && input.now < from) || (until !== undefined && input.now >= until);
  };
  const result = (rule: CompiledRule): RuleResult => {
    const i = slot.get(rule);
    if (i !== undefined) return inactive(rule) ? 'inactive' : assigned[i]!;
    let value = known.get(rule);
    if (value === undefined) known.set(rule, (value = evaluateRule(rule, activations[sideOfRule(rule)], input.now)));
    return value;
  };

  // The record's own decision, when the set in force then is the current one, rules out the
  // values under which the current set would have decided otherwise than it did.
  const logged = input.logged?.bundle === current.bundle ? input.logged : undefined;
  const key = memo ? searchKey(request.action, request.resource.id, readList, [cc, kc], slot, inactive, result, logged) : undefined;
  const remembered = key === undefined ? undefined : memo!.get(current, candidate, key);
  if (remembered) return remembered;
  const outcome = search();
  if (key !== undefined) memo!.set(key, outcome);
  return outcome;

  function search(): Replayed {
    const all = new Map<string, { current: SideDecision; candidate: SideDecision }>();
    const consistent = new Map<string, { current: SideDecision; candidate: SideDecision }>();
    for (let n = 0; n < total; n++) {
      let rest = n;
      for (let i = 0; i < conditions.length; i++) {
        const domain = domains[i]!;
        assigned[i] = domain[rest % domain.length]!;
        rest = Math.floor(rest / domain.length);
      }
      const pair = { current: combine(cc, result), candidate: combine(kc, result) };
      const pairKey = `${pair.current.effect} ${pair.current.rule ?? ''} ${pair.candidate.effect} ${pair.candidate.rule ?? ''}`;
      all.set(pairKey, pair);
      if (logged && agreesWith(logged, cc, pair.current, result)) consistent.set(pairKey, pair);
    }
    // No combination reproduces the record (it was decided otherwise, e.g. by a cached decision of
    // an older set): the evidence is not used.
    const pairs = [...(consistent.size ? consistent : all).values()];
    const first = pairs[0]!;
    const sameEffects = pairs.every((p) => p.current.effect === first.current.effect && p.candidate.effect === first.candidate.effect);
    if (sameEffects) {
      const sameRules = pairs.every((p) => p.current.rule === first.current.rule && p.candidate.rule === first.candidate.rule);
      return sameRules ? { kind: 'determined', current: first.current, candidate: first.candidate } : { kind: 'determined', current: { effect: first.current.effect }, candidate: { effect: first.candidate.effect }, ruleUnknown: true };
    }
    if (pairs.every((p) => p.current.effect === p.candidate.effect)) {
      // Whatever the unknown values were, the candidate decides as the current set does.
      return { kind: 'determined', current: { effect: first.current.effect }, candidate: { effect: first.current.effect }, ruleUnknown: true, effectUnknown: true };
    }
    const possible = new Map(pairs.map((p) => [`${p.current.effect} ${p.candidate.effect}`, { current: p.current.effect, candidate: p.candidate.effect }]));
    return { kind: 'undetermined', reads: readList, possible: [...possible.values()] };
  }
}

/**
 * Outcomes of decideBoth's search over unknown values, remembered for one pair of policy sets (a
 * replay run): records written before the log kept the request all read the same unknowns, and
 * differ mostly in values no rule's outcome depends on. Bounded: emptied when full.
 */
export class JointMemo {
  private readonly outcomes = new Map<string, Replayed>();
  private sets: [PolicySet, PolicySet] | undefined;

  constructor(private readonly limit = 10_000) {}

  /** Searches remembered. */
  get size(): number {
    return this.outcomes.size;
  }

  get(current: PolicySet, candidate: PolicySet, key: string): Replayed | undefined {
    if (this.sets?.[0] !== current || this.sets[1] !== candidate) {
      this.outcomes.clear();
      this.sets = [current, candidate];
    }
    return this.outcomes.get(key);
  }

  set(key: string, outcome: Replayed): void {
    if (this.outcomes.size >= this.limit) this.outcomes.clear();
    this.outcomes.set(key, outcome);
  }
}

/**
 * Everything the search's outcome depends on, as a string: the candidate rules (by action and
 * resource), the unknown reads, for each rule of either side whether it counts as matched (or,
 * for a rule with an unknown condition, whether its policy is in its window), and the record's
 * own decision when it is evidence. The search sees rules through `counts` only, so two records
 * with the same key have the same outcome.
 */
function searchKey(
  action: string,
  resource: string,
  reads: ReadonlyArray<{ rule: string; path: readonly string[] }>,
  sides: readonly Candidates[],
  slot: ReadonlyMap<CompiledRule, number>,
  inactive: (rule: CompiledRule) => boolean,
  result: (rule: CompiledRule) => RuleResult,
  logged: LoggedDecision | undefined,
): string {
  let bits = '';
  for (const c of sides) {
    for (const list of [c.deny, c.requireApproval, c.allow]) {
      for (const rule of list) bits += slot.has(rule) ? (inactive(rule) ? 'i' : 's') : counts(rule, result(rule)) ? '1' : '0';
    }
    bits += '|';
  }
  let evidence = '-';
  if (logged) {
    evidence = `${logged.effect} ${logged.rule ?? ''} `;
    for (const list of [sides[0]!.deny, sides[0]!.requireApproval, sides[0]!.allow]) for (const rule of list) evidence += logged.matched.has(rule.key) ? '1' : '0';
  }
  return JSON.stringify([action, resource, reads, bits, evidence]);
}

/** Whether the current set, with these rule results, decides what the record says it decided. */
function agreesWith(logged: NonNullable<ReplayInput['logged']>, c: Candidates, decided: SideDecision, result: (rule: CompiledRule) => RuleResult): boolean {
  if (decided.effect !== logged.effect || decided.rule !== logged.rule) return false;
  // The rules of the winning effect that counted are exactly those the record lists.
  const winners = decided.effect === 'deny' ? (decided.rule ? c.deny : []) : decided.effect === 'require_approval' ? c.requireApproval : c.allow;
  return winners.every((r) => counts(r, result(r)) === logged.matched.has(r.key));
}

function sideOf(decision: { effect: Effect; policy?: string; rule?: string }): SideDecision {
  return decision.rule ? { effect: decision.effect, rule: `${decision.policy}/${decision.rule}` } : { effect: decision.effect };
}

/** The enforced rules, on either side, whose condition reads a path the input does not know. */
function unknownReads(sides: readonly Candidates[], input: ReplayInput): Array<{ rule: CompiledRule; source: string; path: string[] }> {
  const out: Array<{ rule: CompiledRule; source: string; path: string[] }> = [];
  for (const c of sides) {
    for (const rule of [...c.deny, ...c.requireApproval, ...c.allow]) {
      if (!rule.whenSource) continue;
      const path = firstUnknown(conditionReads(rule.whenSource), input.unknown);
      if (path) out.push({ rule, source: rule.whenSource, path });
    }
  }
  return out;
}

function firstUnknown(reads: readonly (readonly string[])[], unknown: readonly string[][]): string[] | undefined {
  for (const read of reads) for (const path of unknown) if (overlaps(read, path)) return path.length >= read.length ? path : [...read];
  return undefined;
}

const counts = (rule: CompiledRule, result: RuleResult) => result === 'matched' || (typeof result === 'object' && rule.effect !== 'allow');

/**
 * How the PDP combines rule results (policy/decide.ts `evaluate`): deny overrides; an approval
 * holds when an allow matched too, or when it comes from a policy that is not caution-only; then
 * allow; else the default deny. The deciding rule is the first that counts, in the set's order.
 * test/replay/joint-decide.test.ts holds it against `decide` on every known case.
 */
export function combine(c: Candidates, resultOf: (rule: CompiledRule) => RuleResult): SideDecision {
  const first = (rules: readonly CompiledRule[]) => rules.filter((r) => counts(r, resultOf(r)));
  const denies = first(c.deny);
  if (denies.length) return { effect: 'deny', rule: denies[0]!.key };
  const approvals = first(c.requireApproval);
  const allows = first(c.allow);
  if (approvals.length > 0 && (allows.length > 0 || approvals.some((r) => !r.policy.cautionOnly))) return { effect: 'require_approval', rule: approvals[0]!.key };
  if (allows.length) return { effect: 'allow', rule: allows[0]!.key };
  return { effect: 'deny' };
}
