import type { JsonValue } from '../model/json.js';
import { counterpartyTokens, tokenHash } from './taint.js';

/**
 * New counterparties: an external effect (a payment, a message, a share) towards someone who never
 * appeared in trusted data. Once a session has seen untrusted content, an account number or IBAN
 * written in a file, an e-mail address in a web page, can be an attacker's; paying them is harm
 * even when nothing private leaves (the trifecta's case). Trusted data is what the user asked in a
 * trusted prompt (guards.taint.user_prompt: trusted) and the results of tools that are not
 * untrusted sources (the user's own contacts, their account's history of payees).
 *
 * Counterparties are recognised by their identifiers (taint.ts `counterpartyTokens`): IBANs,
 * account and phone numbers, e-mail addresses, URL hosts, anywhere in the arguments. A recipient
 * named only by a word ("Bob") is not one; the policy sees only identifiers.
 */

/** The argument paths (`recipient`, `to[1]`, `payment.iban`) holding a counterparty not in trusted data. */
export function newCounterparties(args: Record<string, JsonValue>, isTrusted: (hash: string) => boolean): string[] {
  const hits = new Set<string>();
  const walk = (v: JsonValue, path: string, depth: number): void => {
    if (depth > 32) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) walk(item, path ? `${path}.${k}` : k, depth + 1);
      return;
    }
    if (typeof v !== 'string' && typeof v !== 'number') return;
    const tokens = counterpartyTokens(typeof v === 'number' ? String(v) : v);
    // A URL carries its host too: the host decides (a new page on a known site is not a new counterparty).
    const decisive = tokens.some((t) => t.startsWith('h:')) ? tokens.filter((t) => !t.startsWith('u:')) : tokens;
    if (decisive.some((t) => !isTrusted(tokenHash(t)))) hits.add(path);
  };
  walk(args, '', 0);
  return [...hits].sort();
}
