import type { Obligation } from '../../model/obligation.js';
import type { CompiledRule } from '../policy-set.js';
import type { ArgumentChecker } from './argument-findings.js';
import type { Finding } from './finding.js';
import { appliesToToolCalls, toolsOfRule, type ToolInfo } from './tool-catalog.js';

type Base = Pick<Finding, 'policy' | 'rule' | 'file' | 'line' | 'column'>;

/** The argument an obligation is about (the first key of an args path), if any. */
function argumentOf(o: Obligation): string[] {
  if (o.type === 'cap' || o.type === 'require_idempotency_key') return [o.arg];
  if (o.type === 'redact') return o.paths.filter((p) => p.startsWith('args.')).map((p) => /^args\.([A-Za-z0-9_-]+)/.exec(p)?.[1] ?? '').filter(Boolean);
  return [];
}

/**
 * Obligations that cannot do what they say: those of a shadow-mode policy (shadow results carry
 * no obligations), and, with a registry, those about an argument no matched tool can have or of
 * a type they cannot work on.
 */
export function obligationFindings(rule: CompiledRule, tools: readonly ToolInfo[] | undefined, checker: ArgumentChecker | undefined, base: Base): Finding[] {
  if (rule.obligations.length === 0) return [];
  if (rule.policy.mode === 'shadow') {
    return [{ ...base, severity: 'warning', code: 'obligation-never-applies', message: 'obligations of a shadow-mode policy never apply: shadow results are reported, never enforced', hint: 'they apply once the policy is switched to mode: enforce' }];
  }
  if (!tools || !checker || !appliesToToolCalls(rule)) return [];
  const typed = toolsOfRule(rule, tools)
    .map((tool) => ({ tool, shape: checker.shape(tool) }))
    .filter((t) => t.shape !== undefined);
  if (typed.length === 0) return [];
  const out: Finding[] = [];
  for (const o of rule.obligations) {
    for (const name of argumentOf(o)) {
      const missing = typed.filter((t) => t.shape!.closed && !t.shape!.properties.has(name)).map((t) => t.tool.name);
      if (missing.length === typed.length) {
        const refused = o.type === 'require_idempotency_key';
        out.push({
          ...base,
          severity: refused ? 'error' : 'warning',
          code: 'obligation-never-applies',
          message: `${o.type} names argument "${name}", which ${missing.length === 1 ? `tool ${missing[0]} does` : `none of the tools ${missing.join(', ')} do`} not take${refused ? ': every call this rule allows is refused for lack of the key' : o.type === 'cap' ? ': the cap adds the argument to every call instead of limiting it' : ': there is nothing to redact'}`,
          hint: 'check the name against the tool\'s input_schema',
        });
        continue;
      }
      const wrongType = typed.filter((t) => {
        const type = t.shape!.properties.get(name);
        if (typeof type !== 'string' || type === 'dyn') return false;
        return (o.type === 'cap' && type !== 'double') || (o.type === 'require_idempotency_key' && type !== 'string');
      });
      if (wrongType.length) {
        out.push({
          ...base,
          severity: 'warning',
          code: 'obligation-never-applies',
          message: `${o.type} on "${name}": ${wrongType.map((t) => t.tool.name).join(', ')} declare${wrongType.length === 1 ? 's' : ''} it as ${String(wrongType[0]!.shape!.properties.get(name))}, so every call that carries it is refused (${o.type === 'cap' ? 'a cap needs a number' : 'an idempotency key is a string'})`,
        });
      }
    }
  }
  return out;
}
