import type { ASTNode } from '@marcbachmann/cel-js';
import { globMatches, isGlob } from '../glob.js';
import type { CompiledRule } from '../policy-set.js';
import { canonical, conjuncts, parseCondition } from './condition-ast.js';

/**
 * When a deny rule provably overrides another rule: on every request the other rule matches, the
 * deny matches too. Proven only from what the rules say, never from a sample of requests:
 * - same enforcement (enforced denies override enforced rules; a shadow policy's deny overrides
 *   rules of its own policy only, since each shadow policy is reported on its own),
 * - the deny's actions include the rule's (or the deny names none),
 * - every tool pattern of the rule is included in one of the deny's (or the deny names none),
 * - the deny's effective window includes the rule's,
 * - the deny has no condition, or its condition's conjuncts are a subset of the rule's
 *   (`a && b` implies `a`; and when the rule's condition fails, so that it counts as matched, a
 *   subset of its conjuncts is true or fails as well, which also counts as matched for a deny).
 * Anything else (`a || b` against `a`, ranges such as `x > 10` against `x > 5`) is not claimed.
 */
export function shadows(deny: CompiledRule, rule: CompiledRule): boolean {
  if (deny === rule || deny.effect !== 'deny') return false;
  const enforced = deny.policy.mode === 'enforce';
  if (enforced !== (rule.policy.mode === 'enforce')) return false;
  if (!enforced && deny.policy.id !== rule.policy.id) return false;
  return includesActions(deny, rule) && includesTools(deny.tools, rule.tools) && includesWindow(deny, rule) && weakerCondition(deny, rule);
}

function includesActions(deny: CompiledRule, rule: CompiledRule): boolean {
  if (!deny.actions) return true;
  if (!rule.actions) return false;
  return rule.actions.every((a) => deny.actions!.includes(a));
}

/** Every name `inner` matches, `outer` matches: exact for names, sufficient for globs. */
export function patternIncludes(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (!isGlob(inner)) return globMatches(outer, inner);
  if (outer === '*') return true;
  // `prefix*` includes any pattern starting with the same literal prefix; `*suffix` likewise.
  const star = outer.indexOf('*');
  if (star === outer.length - 1 && !isGlob(outer.slice(0, -1))) return inner.startsWith(outer.slice(0, -1));
  if (star === 0 && outer.lastIndexOf('*') === 0 && !outer.includes('?')) {
    const suffix = outer.slice(1);
    return inner.endsWith(suffix) && !isGlob(inner.slice(inner.length - suffix.length));
  }
  return false;
}

function includesTools(outer: readonly string[] | undefined, inner: readonly string[] | undefined): boolean {
  if (!outer) return true;
  if (!inner) return false;
  return inner.every((i) => outer.some((o) => patternIncludes(o, i)));
}

function includesWindow(deny: CompiledRule, rule: CompiledRule): boolean {
  const d = deny.policy;
  const r = rule.policy;
  const from = d.from === undefined || (r.from !== undefined && d.from <= r.from);
  const until = d.until === undefined || (r.until !== undefined && d.until >= r.until);
  return from && until;
}

const conjunctCache = new Map<string, Set<string>>();

function conjunctSet(source: string): Set<string> {
  let set = conjunctCache.get(source);
  if (!set) {
    let root: ASTNode;
    try {
      root = parseCondition(source);
    } catch {
      return new Set([`unparsed:${source}`]);
    }
    set = new Set(conjuncts(root).map(canonical));
    conjunctCache.set(source, set);
  }
  return set;
}

function weakerCondition(deny: CompiledRule, rule: CompiledRule): boolean {
  if (deny.whenSource === undefined) return true;
  if (rule.whenSource === undefined) return false;
  const ruleConjuncts = conjunctSet(rule.whenSource);
  return [...conjunctSet(deny.whenSource)].every((c) => ruleConjuncts.has(c));
}

/**
 * Whether some tool call can match both rules, as far as their patterns say: a rule naming no
 * tools matches all; two globs overlap when a known tool matches both (or they are equal).
 */
export function toolsOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined, known: readonly string[] | undefined): boolean {
  if (!a || !b) return true;
  return a.some((p) =>
    b.some((q) => {
      if (!isGlob(p)) return globMatches(q, p);
      if (!isGlob(q)) return globMatches(p, q);
      return p === q || (known ?? []).some((name) => globMatches(p, name) && globMatches(q, name));
    }),
  );
}

export function actionsOverlap(a: CompiledRule, b: CompiledRule): boolean {
  if (!a.actions || !b.actions) return true;
  return a.actions.some((x) => b.actions!.includes(x));
}
