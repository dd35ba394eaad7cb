/**
 * A decision record's reason is redacted once per run of equal reasons (src/enforcement/
 * audit-record.ts, redactedReason: the last reason per redactor is remembered). Whatever the
 * sequence of reasons, repeated, alternating, holding secrets, through redactors configured
 * differently, each answer must be what a fresh redactor of the same configuration gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/audit/redact.js';
import { redactedReason } from '../../src/enforcement/audit-record.js';

const REASONS = [
  'support may read orders of its own tenant (policy orders v4, rule support-reads-orders)',
  'no rule allowed this action',
  'cross-tenant access: request tenant acme does not match jane.doe@example.com',
  'the tool failed: password=hunter2',
  'refund of c-100042 needs approval',
  '',
];

describe('decision record reasons', () => {
  it('are redacted as a fresh redactor redacts them, in any sequence, per redactor', () => {
    const configs = [{}, { patterns: [{ name: 'order', regex: 'c-1000[0-9]{2}' }] }, { disable: ['email'] }];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: configs.length - 1 }), fc.oneof(fc.constantFrom(...REASONS), fc.string({ maxLength: 30 }))), { maxLength: 30 }), (steps) => {
        const redactors = configs.map((c) => createRedactor(c));
        for (const [i, reason] of steps) {
          expect({ i, reason, got: redactedReason(reason, redactors[i]!) }).toEqual({ i, reason, got: createRedactor(configs[i]).redactText(reason) });
        }
      }),
      { numRuns: 300 },
    );
  });
});
