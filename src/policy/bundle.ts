import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { JsonObject } from '../model/json.js';
import type { PolicyDocument } from './policy-schema.js';

/**
 * The bundle revision: a hash of every policy's parsed content, ordered by policy and rule id.
 * File names, file and rule order, comments and formatting do not change it; any change of meaning
 * does. Policy data is part of it (by name and parsed value); without data the revision is what it
 * was before data existed.
 */
export function bundleRevision(policies: readonly PolicyDocument[], data: JsonObject = {}): string {
  // Neither file order nor rule order carries meaning (combining is order-independent).
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sorted = [...policies].sort(byId).map((p) => ({ ...p, rules: [...p.rules].sort(byId) }));
  const content = Object.keys(data).length ? { policies: sorted, data } : sorted;
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}
