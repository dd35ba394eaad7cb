import { ConditionIndex } from './condition-index.js';
import { TermTable } from './term-table.js';
import { globToRegExp, isGlob } from './glob.js';
import type { CompiledRule } from './policy-set.js';
import { DEFAULT_REASON } from './reason-template.js';

/** Rules of one action (or of every action) by the resource they name. */
class Bucket {
  readonly exact = new Map<string, CompiledRule[]>();
  readonly globs: Array<{ pattern: RegExp; rule: CompiledRule }> = [];
  readonly anyResource: CompiledRule[] = [];

  add(rule: CompiledRule): void {
    if (!rule.tools) {
      this.anyResource.push(rule);
      return;
    }
    for (const name of new Set(rule.tools)) {
      if (isGlob(name)) this.globs.push({ pattern: globToRegExp(name), rule });
      else {
        const list = this.exact.get(name) ?? [];
        list.push(rule);
        this.exact.set(name, list);
      }
    }
  }

  collect(resource: string, into: Set<CompiledRule>): void {
    this.exact.get(resource)?.forEach((r) => into.add(r));
    for (const g of this.globs) if (g.pattern.test(resource)) into.add(g.rule);
    this.anyResource.forEach((r) => into.add(r));
  }
}

/** Candidate rules grouped by effect, in the set's deterministic order. */
export interface Candidates {
  deny: readonly CompiledRule[];
  requireApproval: readonly CompiledRule[];
  allow: readonly CompiledRule[];
  /** Rules of shadow-mode policies: evaluated and reported, never enforced. */
  shadow: readonly CompiledRule[];
  size: number;
  /**
   * The enforced lists narrowed by their conditions per request (condition-index.ts). Shadow rules
   * are not narrowed: every shadow policy reports a result, matched or not.
   */
  byCondition: { deny: ConditionIndex; requireApproval: ConditionIndex; allow: ConditionIndex };
}

/**
 * Selects the rules that can apply to an (action, resource) pair. Globs are resolved once per
 * pair and cached, so decision time depends on the rules that can match, not on the set's size.
 */
export class RuleIndex {
  private readonly byAction = new Map<string, Bucket>();
  private readonly anyAction = new Bucket();
  /** action → resource → candidates. Nested maps: a joined string key could collide. */
  private readonly cache = new Map<string, Map<string, Candidates>>();
  private cached = 0;
  /**
   * Per rule, by CompiledRule.order: its key, and whether it carries obligations. The evaluator
   * reads these instead of the rule objects, which at 10,000 rules are scattered in memory.
   */
  readonly keys: string[] = [];
  readonly obligated: Uint8Array;
  /**
   * Per rule, by order, four slots: its policy's id, its id, its policy's version, and the reason
   * of a decision it makes when that is fixed text (its reason or the default one, then its
   * attribution). The evaluator concludes from these, in one place, instead of the rule and its
   * policy (two or three scattered reads). A missing reason (a template) sends it to the rule.
   */
  readonly conclusions: Array<string | undefined> = [];
  /** The paths and literals of the set's conditions, numbered once for every tool's index. */
  private readonly terms = new TermTable();

  constructor(
    rules: readonly CompiledRule[],
    /** Resource names come from requests; a bound keeps hostile names from growing the cache. */
    private readonly cacheLimit = 10_000,
  ) {
    this.obligated = new Uint8Array(rules.length);
    for (const rule of rules) {
      this.keys[rule.order] = rule.key;
      const reason = typeof rule.reason === 'string' ? rule.reason : rule.reason === undefined ? DEFAULT_REASON[rule.effect] : undefined;
      const at = rule.order * 4;
      this.conclusions[at] = rule.policy.id;
      this.conclusions[at + 1] = rule.id;
      this.conclusions[at + 2] = rule.policy.version;
      this.conclusions[at + 3] = reason === undefined ? undefined : reason + rule.attribution;
      if (rule.obligations.length > 0) this.obligated[rule.order] = 1;
    }
    for (const rule of rules) {
      if (!rule.actions) {
        this.anyAction.add(rule);
        continue;
      }
      for (const action of new Set(rule.actions)) {
        let bucket = this.byAction.get(action);
        if (!bucket) this.byAction.set(action, (bucket = new Bucket()));
        bucket.add(rule);
      }
    }
  }

  candidates(action: string, resource: string): Candidates {
    let byResource = this.cache.get(action);
    let found = byResource?.get(resource);
    if (!found) {
      found = this.resolve(action, resource);
      if (this.cached >= this.cacheLimit) {
        this.cache.clear();
        this.cached = 0;
        byResource = undefined;
      }
      if (!byResource) this.cache.set(action, (byResource = new Map()));
      byResource.set(resource, found);
      this.cached++;
    }
    return found;
  }

  private resolve(action: string, resource: string): Candidates {
    const set = new Set<CompiledRule>();
    this.byAction.get(action)?.collect(resource, set);
    this.anyAction.collect(resource, set);
    const sorted = [...set].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return groupCandidates(sorted, (rules) => (rules.length === 0 ? EMPTY_INDEX : new ConditionIndex(rules, this.terms)));
  }
}

/**
 * The rules that apply to a pair, in order, grouped by mode and effect, each enforced list under
 * the condition index `narrow` builds for it (tests pass one that narrows nothing).
 */
export function groupCandidates(applies: readonly CompiledRule[], narrow: (rules: readonly CompiledRule[]) => ConditionIndex): Candidates {
  const enforced = applies.filter((r) => r.policy.mode === 'enforce');
  const deny = enforced.filter((r) => r.effect === 'deny');
  const requireApproval = enforced.filter((r) => r.effect === 'require_approval');
  const allow = enforced.filter((r) => r.effect === 'allow');
  return {
    deny,
    requireApproval,
    allow,
    shadow: applies.filter((r) => r.policy.mode === 'shadow'),
    size: applies.length,
    byCondition: { deny: narrow(deny), requireApproval: narrow(requireApproval), allow: narrow(allow) },
  };
}

/** One index for every empty list: shared, it stays in the CPU cache whichever tool is called. */
const EMPTY_INDEX = new ConditionIndex([]);
