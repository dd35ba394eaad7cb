import { isStringList, plainValue, type KeyTerm } from './condition-plan.js';
import type { CompiledRule } from './policy-set.js';

const termId = (kind: string, path: readonly string[]) => `${kind}\u0000${path.join('\u0000')}`;

/** Rules of one key term: by literal, and all of them (for a value the index cannot judge). */
class KeyBucket {
  readonly byLiteral = new Map<string, CompiledRule[]>();
  readonly all: CompiledRule[] = [];

  constructor(
    readonly kind: 'eq' | 'has',
    readonly path: readonly string[],
  ) {}

  add(rule: CompiledRule, literals: readonly string[]): void {
    this.all.push(rule);
    for (const literal of literals) {
      const list = this.byLiteral.get(literal);
      if (list) list.push(rule);
      else this.byLiteral.set(literal, [rule]);
    }
  }

  /** Adds the rules whose key term may be true for this request. */
  collect(activation: Record<string, unknown>, into: CompiledRule[]): void {
    const value = plainValue(activation, this.path);
    if (this.kind === 'eq') {
      if (typeof value !== 'string') return append(into, this.all);
      const found = this.byLiteral.get(value);
      if (found) append(into, found);
      return;
    }
    if (!isStringList(value)) return append(into, this.all);
    for (let i = 0; i < value.length; i++) {
      const element = value[i]!;
      if (value.indexOf(element) !== i) continue; // a repeated element: its rules are in already
      const found = this.byLiteral.get(element);
      if (found) append(into, found);
    }
  }
}

function append(into: CompiledRule[], rules: readonly CompiledRule[]): void {
  for (let i = 0; i < rules.length; i++) into.push(rules[i]!);
}

/**
 * Narrows a list of rules (the candidates of one action and resource, of one effect) by their
 * conditions, per request. A rule whose condition is a conjunction holding a key term
 * (condition-plan.ts) is filed under the value that term needs; a request then meets only the
 * rules whose term can be true for it. Leaving the others out is exact: in CEL `false && x` is
 * false even when `x` fails (cel-js follows the spec), and a key term is judged false only on a
 * plain string value (for `in`, a list of strings) that does not match; on anything else the
 * rule is kept. The rules come back in no particular order: the caller orders what matched.
 */
export class ConditionIndex {
  private readonly unkeyed: CompiledRule[] = [];
  private readonly buckets: KeyBucket[] = [];

  constructor(readonly rules: readonly CompiledRule[]) {
    const terms = rules.map((rule) => rule.plan?.keys ?? []);
    // Each rule is filed under one term: the one whose path splits the list into the most values.
    const spread = new Map<string, Set<string>>();
    for (const list of terms) {
      for (const t of list) {
        const id = termId(t.kind, t.path);
        const values = spread.get(id) ?? new Set<string>();
        t.literals.forEach((l) => values.add(l));
        spread.set(id, values);
      }
    }
    const byId = new Map<string, KeyBucket>();
    terms.forEach((list, position) => {
      const rule = rules[position]!;
      let best: KeyTerm | undefined;
      let bestSpread = 0;
      for (const t of list) {
        const s = spread.get(termId(t.kind, t.path))!.size;
        if (s > bestSpread) [best, bestSpread] = [t, s];
      }
      if (!best) return void this.unkeyed.push(rule);
      const id = termId(best.kind, best.path);
      let bucket = byId.get(id);
      if (!bucket) {
        bucket = new KeyBucket(best.kind, best.path);
        byId.set(id, bucket);
        this.buckets.push(bucket);
      }
      bucket.add(rule, best.literals);
    });
  }

  /** The rules that can match this request, unordered. */
  select(activation: Record<string, unknown>): readonly CompiledRule[] {
    if (this.buckets.length === 0) return this.unkeyed;
    const out = this.unkeyed.slice();
    for (const bucket of this.buckets) bucket.collect(activation, out);
    return out;
  }
}
