import { findLimitViolation } from '../../model/json-limits.js';
import { findIllFormedText } from '../../model/well-formed.js';

export type JsonBody = { ok: true; value: unknown } | { ok: false; problem: 'invalid-json' | 'unsafe-json'; message: string };

/**
 * A request body as JSON, for the API and the MCP endpoints alike: parsed, then walked once for
 * depth, string length and node count before any handler sees it (a hostile body is refused
 * before it can cost more than its parse), and once more for lone surrogates: a string that is
 * not well-formed Unicode could not be stored as it was hashed, so it never reaches the log.
 */
export function parseJsonBody(raw: Buffer, maxStringLength: number): JsonBody {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return { ok: false, problem: 'invalid-json', message: `the body is not valid JSON: ${(e as Error).message}` };
  }
  const violation = findLimitViolation(value, { maxDepth: 64, maxStringLength, maxNodes: 200_000 });
  if (violation) return { ok: false, problem: 'unsafe-json', message: `the body was refused: ${violation.replace(/^\$/, 'body')}` };
  const illFormed = findIllFormedText(value, 'body');
  if (illFormed) return { ok: false, problem: 'unsafe-json', message: `the body was refused: ${illFormed}; strings must be well-formed Unicode (escape a character outside the BMP as its surrogate pair, never half of one)` };
  return { ok: true, value };
}
