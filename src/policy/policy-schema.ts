import { z } from 'zod';
import { EFFECTS } from '../model/effect.js';

/**
 * The policy file as authored. Objects are strict so a typo such as `efect:` is reported instead
 * of silently ignored; semantic checks (CEL, obligations, durations) happen in compile.
 */
const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and use only letters, digits, . _ : -');

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date-time');
const nonEmptyStrings = z.array(z.string().min(1)).min(1);

export const approvalSchema = z.strictObject({
  approvers: z.array(z.string().regex(/^(role|user):.+$/, 'must be "role:<name>" or "user:<id>"')).min(1),
  quorum: z.number().int().min(1).default(1),
  expires: z.string().default('1h'),
  allow_requester: z.boolean().default(false),
});

export const ruleSchema = z.strictObject({
  id: identifier,
  description: z.string().optional(),
  effect: z.enum(EFFECTS),
  actions: nonEmptyStrings.optional(),
  tools: nonEmptyStrings.optional(),
  when: z.string().min(1).optional(),
  reason: z.string().optional(),
  obligations: z.array(z.record(z.string(), z.unknown())).optional(),
  approval: approvalSchema.optional(),
});

/** The same rule, ignoring unknown fields: used only to keep checking a rule that has a typo. */
export const looseRuleSchema = z.object(ruleSchema.shape);

/** The policy without its rules: each rule is checked on its own, so one bad rule hides no others. */
export const policyHeaderSchema = z.strictObject({
  id: identifier,
  version: z.union([z.number().int().nonnegative(), z.string().min(1)]).transform(String),
  owner: z.string().optional(),
  description: z.string().optional(),
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  effective: z.strictObject({ from: isoTime.optional(), until: isoTime.optional() }).optional(),
  rules: z.array(z.unknown()).min(1),
});

export type PolicyDocument = Omit<z.output<typeof policyHeaderSchema>, 'rules'> & { rules: RuleDocument[] };
export type RuleDocument = z.output<typeof ruleSchema>;
