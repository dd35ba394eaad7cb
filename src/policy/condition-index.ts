import { isStringList, plainValue, type IndexTerm, type RangeTerm } from './condition-plan.js';
import type { CompiledRule } from './policy-set.js';

/**
 * Narrows a list of rules (the candidates of one action and resource, of one effect) by their
 * conditions, per request, so that the rules a request meets are about the rules that match it,
 * however many rules name the same tool.
 *
 * A rule whose condition is a conjunction holding index terms (condition-plan.ts) is filed under
 * one of them — `"role" in agent.roles` under the role, `resource.tenant == tenant` under "equal",
 * `args.amount <= 500` in a list sorted by the limit — and the rules filed under the same value are
 * filed again by their next term, a few levels deep. A request walks only the branches its values
 * lead to. Leaving the other rules out is exact: a term is judged false only where its check in
 * condition-plan.ts is false (a plain string, a list of strings, a finite number that does not
 * fit), which is when judge() says the rule does not match — in CEL `false && x` is false even
 * when `x` fails (cel-js follows the spec). On any other value (missing, a number where a string is
 * compared, a map) every rule of the branch is kept and judged.
 *
 * A rule the walk reached with every conjunct of its condition found true on the way (all of them
 * index terms: ConditionPlan.exact), in a policy with no effective window, is `sure`: it matches,
 * and the caller need not judge it. The others it reaches are `maybe`: the caller judges them.
 * Rules come back in no particular order: the caller orders what matched.
 *
 * Levels below the first are built the first time a request reaches them, so a term with many
 * literals costs memory only for the values requests carry. The walk allocates nothing.
 */
export class ConditionIndex {
  private readonly root: Node;

  constructor(readonly rules: readonly CompiledRule[]) {
    // Built up front while the budget lasts (its objects then sit together in memory, which the
    // walk's memory reads favour), and past it when a request first reaches a level.
    this.root = new Node(rules, NONE_USED, 0, true, { left: EAGER_BUDGET * rules.length + 64 });
  }

  /**
   * Appends the rules that can match this request: the sure ones to `sure` by their order in the
   * set (CompiledRule.order, so the caller need not read the rule), the others to `maybe`.
   * Unordered, each rule once.
   */
  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    this.root.collect(activation, sure, maybe);
  }

  /** Every rule that can match this request, sure or not, unordered (a new array). */
  select(activation: Record<string, unknown>): CompiledRule[] {
    const sure: number[] = [];
    const maybe: CompiledRule[] = [];
    this.root.collect(activation, sure, maybe);
    const byOrder = new Map(this.rules.map((r) => [r.order, r]));
    return [...sure.map((o) => byOrder.get(o)!), ...maybe];
  }
}

/** Nesting stops here: deeper levels would split lists that are already a handful of rules. */
const MAX_DEPTH = 4;
/** A list shorter than this is judged as it is: splitting it would cost about as much. */
const MIN_SPLIT = 3;
const NONE_USED: ReadonlySet<string> = new Set();

interface Split {
  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void;
}

/** The index terms of a rule not yet used on the way to a node. */
function remaining(rule: CompiledRule, used: ReadonlySet<string>): Array<{ t: IndexTerm; id: string }> {
  const plan = rule.plan;
  if (!plan) return [];
  const out: Array<{ t: IndexTerm; id: string }> = [];
  plan.terms.forEach((t, i) => {
    const id = plan.termIds[i]!;
    if (!used.has(id)) out.push({ t, id });
  });
  return out;
}

/** Rule entries built up front per rule of the list; a term with many literals copies a rule often. */
const EAGER_BUDGET = 4;

interface Budget {
  left: number;
}

/**
 * A rule reached on a proven path with `left` terms still to check: sure when none are left, the
 * condition is made of terms alone, and no effective window can make the rule inactive.
 */
function isSure(rule: CompiledRule, proven: boolean, left: number): boolean {
  if (rule.policy.from !== undefined || rule.policy.until !== undefined) return false;
  if (!rule.when) return true;
  return proven && left === 0 && rule.plan?.exact === true;
}

/**
 * A list of rules filed under the same values so far. Empty parts are null and the first split is
 * held inline: at 10,000 rules the walk's cost is mostly memory reads, so it reads few objects.
 */
class Node {
  /** Orders of the sure rules (CompiledRule.order). */
  private sure: number[] | null = null;
  private maybe: CompiledRule[] | null = null;
  private first: Split | null = null;
  private rest: Split[] | null = null;
  /** The rules, until a request first reaches the node and it is built. */
  private pending: readonly CompiledRule[] | undefined;

  constructor(
    rules: readonly CompiledRule[],
    private readonly used: ReadonlySet<string>,
    private readonly depth: number,
    /** Every term used on the way here was found true (not a fallback for an unknown value). */
    private readonly proven: boolean,
    private readonly budget: Budget,
  ) {
    this.pending = rules;
    // A fallback for a value the index cannot judge is rarely reached: it waits until it is.
    if (depth === 0 || (proven && budget.left >= rules.length)) {
      budget.left -= rules.length;
      this.build();
    }
  }

  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    if (this.pending) this.build();
    if (this.sure) append(sure, this.sure);
    if (this.maybe) append(maybe, this.maybe);
    if (!this.first) return;
    this.first.collect(activation, sure, maybe);
    if (this.rest) for (let i = 0; i < this.rest.length; i++) this.rest[i]!.collect(activation, sure, maybe);
  }

  private leaf(rule: CompiledRule, left: number): void {
    if (isSure(rule, this.proven, left)) (this.sure ??= []).push(rule.order);
    else (this.maybe ??= []).push(rule);
  }

  private split(split: Split): void {
    if (!this.first) this.first = split;
    else (this.rest ??= []).push(split);
  }

  private build(): void {
    const rules = this.pending!;
    this.pending = undefined;
    const { used, depth, proven } = this;
    if (depth >= MAX_DEPTH || (depth > 0 && rules.length < MIN_SPLIT)) {
      for (const rule of rules) this.leaf(rule, remaining(rule, used).length);
      return;
    }
    const usable = rules.map((rule) => remaining(rule, used));
    // How much a term narrows: eq/has split the rules into as many lists as they have literals.
    const literals = new Map<string, Set<string>>();
    for (const list of usable) {
      for (const { t, id } of list) {
        if (t.kind !== 'eq' && t.kind !== 'has') continue;
        const set = literals.get(id) ?? new Set<string>();
        t.literals.forEach((l) => set.add(l));
        literals.set(id, set);
      }
    }
    // A range comes last: its lists are not split again.
    const score = (t: IndexTerm, id: string) => (t.kind === 'eq' || t.kind === 'has' ? literals.get(id)!.size + 1 : t.kind === 'same' ? 2 : 1.5);
    const groups = new Map<string, Member[]>();
    usable.forEach((list, position) => {
      const rule = rules[position]!;
      let best: { t: IndexTerm; id: string } | undefined;
      let bestScore = 0;
      for (const e of list) {
        const s = score(e.t, e.id);
        if (s > bestScore) [best, bestScore] = [e, s];
      }
      if (!best) return this.leaf(rule, 0);
      const member = { rule, term: best.t, left: list.length - 1 };
      const group = groups.get(best.id);
      if (group) group.push(member);
      else groups.set(best.id, [member]);
    });
    for (const [id, members] of groups) {
      const next = new Set(used).add(id);
      const first = members[0]!.term;
      const at = { used: next, depth: depth + 1, proven, budget: this.budget };
      if (first.kind === 'range') this.split(new RangeSplit(first.path, members, proven));
      else if (first.kind === 'same') this.split(new SameSplit(first.paths, members, at));
      else this.split(new LiteralSplit(first.kind, first.path, members, at));
    }
  }
}

/** Where a split's lists sit: the terms used above them, their depth, and so on. */
interface Level {
  used: ReadonlySet<string>;
  depth: number;
  proven: boolean;
  budget: Budget;
}

interface Member {
  rule: CompiledRule;
  term: IndexTerm;
  /** Terms of the rule other than `term` not used yet. */
  left: number;
}

/** `args.x == "lit"` / `args.x in [...]` (eq) or `"lit" in agent.roles` (has), by literal. */
class LiteralSplit implements Split {
  private readonly byLiteral = new Map<string, Node>();
  /** Every rule of the split, for a value the index cannot judge. */
  private readonly all: Node;

  constructor(
    private readonly kind: 'eq' | 'has',
    private readonly path: readonly string[],
    members: readonly Member[],
    { used, depth, proven, budget }: Level,
  ) {
    const rules = members.map((m) => m.rule);
    this.all = new Node(rules, used, depth, false, budget);
    const byLiteral = new Map<string, CompiledRule[]>();
    for (const { rule, term } of members) {
      for (const literal of (term as { literals: readonly string[] }).literals) {
        const list = byLiteral.get(literal);
        if (list) list.push(rule);
        else byLiteral.set(literal, [rule]);
      }
    }
    for (const [literal, list] of byLiteral) this.byLiteral.set(literal, new Node(list, used, depth, proven, budget));
  }

  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    const value = plainValue(activation, this.path);
    if (this.kind === 'eq') {
      if (typeof value !== 'string') return this.all.collect(activation, sure, maybe);
      this.byLiteral.get(value)?.collect(activation, sure, maybe);
      return;
    }
    if (!isStringList(value)) return this.all.collect(activation, sure, maybe);
    for (let i = 0; i < value.length; i++) {
      const element = value[i]!;
      if (i > 0 && value.indexOf(element) !== i) continue; // a repeated element: its rules are in already
      this.byLiteral.get(element)?.collect(activation, sure, maybe);
    }
  }
}

/** `a == b` rules under "equal", `a != b` rules under "differ" (two request strings). */
class SameSplit implements Split {
  private readonly equal: Node;
  private readonly differ: Node;
  private readonly all: Node;

  constructor(
    private readonly paths: readonly [readonly string[], readonly string[]],
    members: readonly Member[],
    { used, depth, proven, budget }: Level,
  ) {
    const isEqual = (m: Member) => m.term.kind === 'same' && m.term.equal;
    this.equal = new Node(members.filter(isEqual).map((m) => m.rule), used, depth, proven, budget);
    this.differ = new Node(members.filter((m) => !isEqual(m)).map((m) => m.rule), used, depth, proven, budget);
    this.all = new Node(members.map((m) => m.rule), used, depth, false, budget);
  }

  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    const v = plainValue(activation, this.paths[0]);
    const w = plainValue(activation, this.paths[1]);
    if (typeof v !== 'string' || typeof w !== 'string') return this.all.collect(activation, sure, maybe);
    (v === w ? this.equal : this.differ).collect(activation, sure, maybe);
  }
}

/**
 * One direction of a range split, sorted so that the rules a number fits are a run at the start:
 * pairs of (limit, code) in one array of numbers, so the scan reads one object. The code is the
 * rule's order ×4 when it is sure to match once its bound fits, else its position in `rules` ×4
 * + 1 (judge it); +2 marks a strict bound (`>` / `<`: the limit itself does not fit).
 */
class Bounds {
  readonly pairs: number[] = [];
  readonly rules: CompiledRule[] = [];

  constructor(list: ReadonlyArray<{ member: Member; term: RangeTerm }>, proven: boolean) {
    for (const { member, term } of list) {
      const strict = term.op === '>' || term.op === '<' ? 2 : 0;
      const sure = isSure(member.rule, proven, member.left);
      this.pairs.push(term.limit, (sure ? member.rule.order * 4 : this.rules.length * 4 + 1) + strict);
      this.rules.push(member.rule);
    }
  }
}

/** Rules with a lower bound (`x > L`, `x >= L`) by L rising, with an upper bound by U falling. */
class RangeSplit implements Split {
  private readonly lower: Bounds;
  private readonly upper: Bounds;
  private readonly all: CompiledRule[];

  constructor(
    private readonly path: readonly string[],
    members: readonly Member[],
    proven: boolean,
  ) {
    this.all = members.map((m) => m.rule);
    const bounds = members.map((member) => ({ member, term: member.term as RangeTerm }));
    const isLower = (e: { term: RangeTerm }) => e.term.op === '>' || e.term.op === '>=';
    this.lower = new Bounds(bounds.filter(isLower).sort((a, b) => a.term.limit - b.term.limit), proven);
    this.upper = new Bounds(bounds.filter((e) => !isLower(e)).sort((a, b) => b.term.limit - a.term.limit), proven);
  }

  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    const v = plainValue(activation, this.path);
    if (typeof v !== 'number' || !Number.isFinite(v)) return append(maybe, this.all);
    const lower = this.lower.pairs;
    for (let i = 0; i < lower.length; i += 2) {
      const limit = lower[i]!;
      if (limit > v) break;
      const code = lower[i + 1]!;
      if (limit < v || (code & 2) === 0) take(this.lower, code, sure, maybe);
    }
    const upper = this.upper.pairs;
    for (let i = 0; i < upper.length; i += 2) {
      const limit = upper[i]!;
      if (limit < v) break;
      const code = upper[i + 1]!;
      if (limit > v || (code & 2) === 0) take(this.upper, code, sure, maybe);
    }
  }
}

function take(bounds: Bounds, code: number, sure: number[], maybe: CompiledRule[]): void {
  if ((code & 1) === 0) sure.push(code >>> 2);
  else maybe.push(bounds.rules[code >>> 2]!);
}

function append<T>(into: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) into.push(items[i]!);
}
