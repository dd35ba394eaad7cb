import { celEnvironment, compileExpression, type CompiledExpression } from './cel-environment.js';
import { firstLine } from '../lib/diagnostic.js';
import type { Effect } from '../model/effect.js';

/** The reason of a decision made by a rule that gives none. */
export const DEFAULT_REASON: Readonly<Record<Effect, string>> = { allow: 'allowed', deny: 'denied', require_approval: 'requires approval' };

/** A reason such as "${agent.id} lacks the finance role": literal text and CEL expressions. */
export type ReasonTemplate = ReadonlyArray<string | CompiledExpression>;

export type TemplateParse =
  | { ok: true; template: ReasonTemplate }
  | { ok: false; message: string; index: number };

export function parseReasonTemplate(text: string): TemplateParse {
  const parts: Array<string | CompiledExpression> = [];
  let cursor = 0;
  while (cursor < text.length) {
    const open = text.indexOf('${', cursor);
    if (open < 0) break;
    const close = text.indexOf('}', open);
    if (close < 0) return { ok: false, message: 'unterminated ${ in reason', index: open };
    if (open > cursor) parts.push(text.slice(cursor, open));
    const source = text.slice(open + 2, close);
    const checked = celEnvironment.check(source);
    if (!checked.valid) {
      return { ok: false, message: `reason expression \${${source}}: ${firstLine(checked.error?.message)}`, index: open };
    }
    parts.push(compileExpression(source));
    cursor = close + 1;
  }
  if (cursor < text.length) parts.push(text.slice(cursor));
  return { ok: true, template: parts };
}

export function renderReason(template: ReasonTemplate, activation: Record<string, unknown>): string {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    try {
      const value = part(activation);
      out += typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
    } catch {
      out += '<?>';
    }
  }
  return out;
}

