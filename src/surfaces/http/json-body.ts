import { checkJsonInput } from '../../model/json-limits.js';

export type JsonBody = { ok: true; value: unknown } | { ok: false; problem: 'invalid-json' | 'unsafe-json'; message: string };

/**
 * A request body as JSON, for the API and the MCP endpoints alike: parsed, then walked once for
 * depth, string length, node count and lone surrogates before any handler sees it (a hostile body
 * is refused before it can cost more than its parse; a string that is not well-formed Unicode
 * could not be stored as it was hashed, so it never reaches the log). The walk is remembered, so
 * the ActionRequest parse that follows does not walk the body again.
 */
export function parseJsonBody(raw: Buffer, maxStringLength: number): JsonBody {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return { ok: false, problem: 'invalid-json', message: `the body is not valid JSON: ${(e as Error).message}` };
  }
  const checked = checkJsonInput(value, { maxDepth: 64, maxStringLength, maxNodes: 200_000 }, 'body');
  if (checked.ok) return { ok: true, value };
  if (checked.problem === 'limits') return { ok: false, problem: 'unsafe-json', message: `the body was refused: ${checked.message.replace(/^\$/, 'body')}` };
  return { ok: false, problem: 'unsafe-json', message: `the body was refused: ${checked.message}; strings must be well-formed Unicode (escape a character outside the BMP as its surrogate pair, never half of one)` };
}
