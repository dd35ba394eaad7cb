import { isStringList } from './condition-ast.js';
import type { IndexTerm, RangeTerm } from './condition-plan.js';
import type { CompiledRule } from './policy-set.js';
import type { TermTable } from './term-table.js';

/*
 * The tree of a condition index (condition-index.ts), packed into one Float64Array: how a list of
 * rules is filed by its conditions' terms, and the walk a request makes through it.
 */

/**
 * Nesting stops here: deeper levels would split lists that are already a handful of rules. Above
 * it even a list of one rule is split by its next term: in the packed tree a split is a few slots
 * read in passing, less than judging the rule, whose objects are cold when the set is large.
 */
const MAX_DEPTH = 4;
export const NONE_USED: ReadonlySet<string> = new Set();
/** Rule entries packed up front per rule of the list; a term with many literals copies a rule often. */
export const EAGER_BUDGET = 4;

interface Budget {
  left: number;
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

/**
 * A rule reached on a proven path with `left` terms still to check: sure when none are left, the
 * condition is made of terms alone, and no effective window can make the rule inactive.
 */
function isSure(rule: CompiledRule, proven: boolean, left: number): boolean {
  if (rule.policy.from !== undefined || rule.policy.until !== undefined) return false;
  if (!rule.when) return true;
  return proven && left === 0 && rule.plan?.exact === true;
}

/** Split kinds, the first slot of a split in the packed array. */
const EQ = 0;
const HAS = 1;
const SAME = 2;
const RANGE = 3;

interface Member {
  rule: CompiledRule;
  term: IndexTerm;
  /** Terms of the rule other than `term` not used yet. */
  left: number;
}

/** A level packed later: its rules and where it sits. */
interface Deferred {
  rules: readonly CompiledRule[];
  used: ReadonlySet<string>;
  depth: number;
  /** Every term used on the way here was found true (not a fallback for an unknown value). */
  proven: boolean;
  packed?: ConditionTree;
}

/**
 * One tree of lists and splits packed into a Float64Array (`code`), offsets into it as numbers:
 *
 *   node   nSure, order × nSure, nMaybe, rule × nMaybe, nSplits, splitOffset × nSplits
 *          or, packed later, a single -1 - deferredIndex
 *   EQ/HAS kind, pathId, fallbackNode, nLiterals, (literalId, node) × nLiterals by literalId
 *   SAME   kind, pathId, pathId, fallbackNode, equalNode, differNode
 *   RANGE  kind, pathId, nAll, rule × nAll, nLower, (limit, code) × nLower by limit rising,
 *          nUpper, (limit, code) × nUpper by limit falling
 *
 * `rule` is a position in `listed` (a maybe: judge it). A range code is the rule's order ×4 when it
 * is sure to match once its bound fits, else its position in `listed` ×4 + 1; +2 marks a strict
 * bound (`>` / `<`: the limit itself does not fit). The fallback node of a split holds all its
 * rules, for a request value the split cannot judge; RANGE's is its flat list `rule × nAll`.
 */
export class ConditionTree {
  private readonly code: Float64Array;
  /** The rules a `rule` slot names, by position. */
  private readonly listed: CompiledRule[] = [];
  private readonly deferred: Deferred[] = [];

  constructor(
    rules: readonly CompiledRule[],
    used: ReadonlySet<string>,
    depth: number,
    proven: boolean,
    private readonly budget: Budget,
    private readonly table: TermTable,
  ) {
    const positions = new Map<CompiledRule, number>();
    const position = (rule: CompiledRule) => {
      let at = positions.get(rule);
      if (at === undefined) {
        positions.set(rule, (at = this.listed.length));
        this.listed.push(rule);
      }
      return at;
    };
    const out: number[] = [];
    this.node(out, rules, used, depth, proven, position);
    this.code = Float64Array.from(out);
  }

  /**
   * Appends the rules that can match this request: the sure ones to `sure` by their order in the
   * set (CompiledRule.order, so the caller need not read the rule), the others to `maybe`.
   * Unordered, each rule once.
   */
  collect(activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    this.walk(0, activation, sure, maybe);
  }

  /* ----------------------------------------------------------------------------- the walk */

  private walk(at: number, activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    const code = this.code;
    let p = at;
    const nSure = code[p++]!;
    if (nSure < 0) return this.later(-1 - nSure).collect(activation, sure, maybe);
    for (const end = p + nSure; p < end; p++) sure.push(code[p]!);
    const nMaybe = code[p++]!;
    for (const end = p + nMaybe; p < end; p++) maybe.push(this.listed[code[p]!]!);
    const nSplits = code[p++]!;
    for (const end = p + nSplits; p < end; p++) this.split(code[p]!, activation, sure, maybe);
  }

  private split(at: number, activation: Record<string, unknown>, sure: number[], maybe: CompiledRule[]): void {
    const code = this.code;
    const kind = code[at]!;
    const value = this.table.value(activation, code[at + 1]!);
    if (kind === EQ) {
      if (typeof value !== 'string') return this.walk(code[at + 2]!, activation, sure, maybe);
      const node = this.find(at + 3, this.table.lookup(value));
      if (node >= 0) this.walk(node, activation, sure, maybe);
      return;
    }
    if (kind === HAS) {
      if (!isStringList(value)) return this.walk(code[at + 2]!, activation, sure, maybe);
      for (let i = 0; i < value.length; i++) {
        const element = value[i]!;
        if (i > 0 && value.indexOf(element) !== i) continue; // a repeated element: its rules are in already
        const node = this.find(at + 3, this.table.lookup(element));
        if (node >= 0) this.walk(node, activation, sure, maybe);
      }
      return;
    }
    if (kind === SAME) {
      const other = this.table.value(activation, code[at + 2]!);
      if (typeof value !== 'string' || typeof other !== 'string') return this.walk(code[at + 3]!, activation, sure, maybe);
      return this.walk(code[value === other ? at + 4 : at + 5]!, activation, sure, maybe);
    }
    this.range(at + 2, value, sure, maybe);
  }

  /** The node filed under a literal in an EQ/HAS split's sorted (literalId, node) pairs, or -1. */
  private find(at: number, literal: number): number {
    if (literal < 0) return -1;
    const code = this.code;
    let lo = 0;
    let hi = code[at]! - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const id = code[at + 1 + mid * 2]!;
      if (id === literal) return code[at + 2 + mid * 2]!;
      if (id < literal) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private range(at: number, value: unknown, sure: number[], maybe: CompiledRule[]): void {
    const code = this.code;
    let p = at;
    const nAll = code[p++]!;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      for (const end = p + nAll; p < end; p++) maybe.push(this.listed[code[p]!]!);
      return;
    }
    p += nAll;
    const nLower = code[p++]!;
    for (const end = p + nLower * 2; p < end; p += 2) {
      const limit = code[p]!;
      if (limit > value) break;
      const c = code[p + 1]!;
      if (limit < value || (c & 2) === 0) this.take(c, sure, maybe);
    }
    p = at + 1 + nAll + 1 + nLower * 2;
    const nUpper = code[p++]!;
    for (const end = p + nUpper * 2; p < end; p += 2) {
      const limit = code[p]!;
      if (limit < value) break;
      const c = code[p + 1]!;
      if (limit > value || (c & 2) === 0) this.take(c, sure, maybe);
    }
  }

  private take(c: number, sure: number[], maybe: CompiledRule[]): void {
    if ((c & 1) === 0) sure.push(c >>> 2);
    else maybe.push(this.listed[c >>> 2]!);
  }

  /** A deferred level, packed the first time a request reaches it. */
  private later(index: number): ConditionTree {
    const d = this.deferred[index]!;
    d.packed ??= new ConditionTree(d.rules, d.used, d.depth, d.proven, this.budget, this.table);
    return d.packed;
  }

  /* ----------------------------------------------------------------------------- packing */

  /**
   * Packs a node and returns its offset. A node below the root is packed now only on a proven path
   * while the budget lasts; otherwise it is deferred (a fallback for a value the index cannot
   * judge is rarely reached: it waits until it is).
   */
  private child(out: number[], rules: readonly CompiledRule[], used: ReadonlySet<string>, depth: number, proven: boolean, position: (r: CompiledRule) => number): number {
    if (proven && this.budget.left >= rules.length) {
      this.budget.left -= rules.length;
      return this.node(out, rules, used, depth, proven, position);
    }
    const at = out.length;
    out.push(-1 - this.deferred.length);
    this.deferred.push({ rules, used, depth, proven });
    return at;
  }

  private node(out: number[], rules: readonly CompiledRule[], used: ReadonlySet<string>, depth: number, proven: boolean, position: (r: CompiledRule) => number): number {
    const sure: number[] = [];
    const maybe: number[] = [];
    const leaf = (rule: CompiledRule, left: number) => {
      if (isSure(rule, proven, left)) sure.push(rule.order);
      else maybe.push(position(rule));
    };
    const groups = new Map<string, Member[]>();
    if (depth >= MAX_DEPTH) {
      for (const rule of rules) leaf(rule, remaining(rule, used).length);
    } else {
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
      usable.forEach((list, i) => {
        const rule = rules[i]!;
        let best: { t: IndexTerm; id: string } | undefined;
        let bestScore = 0;
        for (const e of list) {
          const s = score(e.t, e.id);
          if (s > bestScore) [best, bestScore] = [e, s];
        }
        if (!best) return leaf(rule, 0);
        const member = { rule, term: best.t, left: list.length - 1 };
        const group = groups.get(best.id);
        if (group) group.push(member);
        else groups.set(best.id, [member]);
      });
    }
    // The node's own slots, then its splits (each packs its lists after itself), then the offsets.
    const at = out.length;
    out.push(sure.length);
    pushAll(out, sure);
    out.push(maybe.length);
    pushAll(out, maybe);
    out.push(groups.size);
    const slots = out.length;
    for (let i = 0; i < groups.size; i++) out.push(0);
    let i = 0;
    for (const [id, members] of groups) {
      const next = new Set(used).add(id);
      const first = members[0]!.term;
      out[slots + i++] =
        first.kind === 'range'
          ? this.rangeSplit(out, first.path, members, proven, position)
          : first.kind === 'same'
            ? this.sameSplit(out, first.paths, members, next, depth + 1, proven, position)
            : this.literalSplit(out, first.kind, first.path, members, next, depth + 1, proven, position);
    }
    return at;
  }

  /** `args.x == "lit"` / `args.x in [...]` (eq) or `"lit" in agent.roles` (has), by literal. */
  private literalSplit(
    out: number[],
    kind: 'eq' | 'has',
    path: readonly string[],
    members: readonly Member[],
    used: ReadonlySet<string>,
    depth: number,
    proven: boolean,
    position: (r: CompiledRule) => number,
  ): number {
    const byLiteral = new Map<number, CompiledRule[]>();
    for (const { rule, term } of members) {
      for (const literal of (term as { literals: readonly string[] }).literals) {
        const id = this.table.literalId(literal);
        const list = byLiteral.get(id);
        if (list) list.push(rule);
        else byLiteral.set(id, [rule]);
      }
    }
    const ids = [...byLiteral.keys()].sort((a, b) => a - b);
    const at = out.length;
    out.push(kind === 'eq' ? EQ : HAS, this.table.pathId(path), 0, ids.length);
    const pairs = out.length;
    for (const id of ids) out.push(id, 0);
    out[at + 2] = this.child(out, members.map((m) => m.rule), used, depth, false, position);
    ids.forEach((id, n) => (out[pairs + n * 2 + 1] = this.child(out, byLiteral.get(id)!, used, depth, proven, position)));
    return at;
  }

  /** `a == b` rules under "equal", `a != b` rules under "differ" (two request strings). */
  private sameSplit(
    out: number[],
    paths: readonly [readonly string[], readonly string[]],
    members: readonly Member[],
    used: ReadonlySet<string>,
    depth: number,
    proven: boolean,
    position: (r: CompiledRule) => number,
  ): number {
    const isEqual = (m: Member) => m.term.kind === 'same' && m.term.equal;
    const at = out.length;
    out.push(SAME, this.table.pathId(paths[0]), this.table.pathId(paths[1]), 0, 0, 0);
    const equal = members.filter(isEqual).map((m) => m.rule);
    const differ = members.filter((m) => !isEqual(m)).map((m) => m.rule);
    out[at + 4] = this.child(out, equal, used, depth, proven, position);
    out[at + 5] = this.child(out, differ, used, depth, proven, position);
    out[at + 3] = this.child(out, members.map((m) => m.rule), used, depth, false, position);
    return at;
  }

  /** Rules with a lower bound (`x > L`, `x >= L`) by L rising, with an upper bound by U falling. */
  private rangeSplit(out: number[], path: readonly string[], members: readonly Member[], proven: boolean, position: (r: CompiledRule) => number): number {
    const at = out.length;
    out.push(RANGE, this.table.pathId(path), members.length);
    pushAll(out, members.map((m) => position(m.rule)));
    const bounds = members.map((member) => ({ member, term: member.term as RangeTerm }));
    const isLower = (e: { term: RangeTerm }) => e.term.op === '>' || e.term.op === '>=';
    const lower = bounds.filter(isLower).sort((a, b) => a.term.limit - b.term.limit);
    const upper = bounds.filter((e) => !isLower(e)).sort((a, b) => b.term.limit - a.term.limit);
    for (const list of [lower, upper]) {
      out.push(list.length);
      for (const { member, term } of list) {
        const strict = term.op === '>' || term.op === '<' ? 2 : 0;
        const sure = isSure(member.rule, proven, member.left);
        out.push(term.limit, (sure ? member.rule.order * 4 : position(member.rule) * 4 + 1) + strict);
      }
    }
    return at;
  }
}

/** Appends one by one: spreading a list of many thousand rules into push() overflows the stack. */
function pushAll(out: number[], items: readonly number[]): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]!);
}
