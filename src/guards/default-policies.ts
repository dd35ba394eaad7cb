import type { BuiltInPolicy, LoadOptions } from '../policy/load.js';

/**
 * The built-in guard policies: safe behaviour with no configuration. They are ordinary policies,
 * loaded beside the user's policy folder, so `warden check` compiles them, the bundle hash covers
 * them, and decisions name them (`policy guard-injection v1, rule …`).
 *
 * They only add caution: under the combining rules a deny anywhere wins and require_approval beats
 * allow, so a guard rule can hold or stop an action and never allow one.
 *
 * To change one, put a policy with the same id in the policy folder: it replaces the built-in one
 * (an empty-handed replacement can be `mode: shadow`). To drop them all: `guards: { default_policies: false }`.
 *
 * Conditions test `has(...)` first: a request decided without the pipeline (the decision API, a
 * policy test) may carry no signals, and a condition error would count as matched (fail closed).
 */
export const DEFAULT_GUARD_POLICIES: readonly BuiltInPolicy[] = [
  {
    id: 'guard-injection',
    file: '<built-in>/guards/guard-injection.yaml',
    text: `id: guard-injection
version: 1
owner: warden
description: Prompt injection found in the user prompt, in the arguments the agent sends, or in a tool result it read.
rules:
  - id: exfiltration-in-arguments
    effect: deny
    description: >-
      A link or image in the arguments that would carry data to a host not in guards.allowed_hosts.
      No legitimate call needs one; it is how injected instructions get data out.
    when: "has(signals.injection) && has(signals.injection.args) && signals.injection.args.critical == true"
    reason: "the arguments carry a link that would send data to a host that is not allowed (prompt-injection exfiltration)"
  - id: injection-in-arguments
    effect: require_approval
    description: The arguments carry instruction-override text, forged role headers, hidden text, scripts or encoded blobs.
    when: "has(signals.injection) && has(signals.injection.args) && signals.injection.args.suspicious == true"
    reason: "the arguments look like a prompt injection (score \${signals.injection.args.score}); a human must confirm"
    approval: { approvers: ["role:approver"], expires: 1h }
  - id: injection-in-prompt
    effect: require_approval
    description: The user prompt tries to override the agent's instructions.
    when: "has(signals.injection) && has(signals.injection.prompt) && signals.injection.prompt.suspicious == true"
    reason: "the user prompt looks like a prompt injection (score \${signals.injection.prompt.score}); a human must confirm"
    approval: { approvers: ["role:approver"], expires: 1h }
  - id: act-after-injection
    effect: require_approval
    description: >-
      An injection was found in a tool result this session read; from then on the agent may be
      following it, so every call with an effect (anything but a read) waits for a human.
    when: "has(signals.taint) && has(signals.taint.injected) && size(signals.taint.injected) > 0 && has(tool.effect) && tool.effect != 'read'"
    reason: "an injection was found in a tool result earlier in this session; a human must confirm every call with an effect"
    approval: { approvers: ["role:approver"], expires: 1h }
`,
  },
  {
    id: 'guard-taint',
    file: '<built-in>/guards/guard-taint.yaml',
    text: `id: guard-taint
version: 1
owner: warden
description: A sensitive argument carries a value from an untrusted source (the user prompt, untrusted tool output).
rules:
  - id: tainted-sensitive-argument
    effect: require_approval
    when: "has(signals.taint) && has(signals.taint.sensitive_args) && size(signals.taint.sensitive_args) > 0"
    reason: "untrusted data flows into \${signals.taint.sensitive_args}; a human must confirm"
    approval: { approvers: ["role:approver"], expires: 1h }
`,
  },
  {
    id: 'guard-trifecta',
    file: '<built-in>/guards/guard-trifecta.yaml',
    text: `id: guard-trifecta
version: 1
owner: warden
description: The lethal trifecta - private data read, untrusted content seen, and now a tool that acts outside.
rules:
  - id: lethal-trifecta
    effect: require_approval
    when: "has(signals.trifecta) && signals.trifecta == true"
    reason: "this session read private data and saw untrusted content; an outside action now needs a human"
    approval: { approvers: ["role:approver"], expires: 1h }
`,
  },
  {
    id: 'guard-counterparty',
    file: '<built-in>/guards/guard-counterparty.yaml',
    text: `id: guard-counterparty
version: 1
owner: warden
description: After untrusted content, an outside action towards a counterparty never seen in trusted data.
rules:
  - id: new-counterparty
    effect: require_approval
    description: >-
      The session has seen untrusted content, and the call acts outside (a payment, a message, a share)
      towards an IBAN, account or phone number, e-mail address or host that appeared in no trusted data
      (a trusted user prompt, a trusted tool's result). Paying an attacker is harm even when nothing private leaves.
    when: "has(signals.counterparty) && has(signals.counterparty.new) && size(signals.counterparty.new) > 0"
    reason: "\${signals.counterparty.new} names a counterparty this session never saw in trusted data, after untrusted content; a human must confirm"
    approval: { approvers: ["role:approver"], expires: 1h }
`,
  },
  {
    id: 'guard-classifier',
    file: '<built-in>/guards/guard-classifier.yaml',
    text: `id: guard-classifier
version: 1
owner: warden
description: >-
  The external injection classifier (guards.injection.external), when one is configured: what it
  flags, and what Warden does when it cannot be asked. Replace this policy to choose another fail
  mode (deny every call while it is down, or let reads and writes go on).
rules:
  - id: flagged-by-classifier
    effect: require_approval
    description: The external classifier scored the user prompt or an argument at or above its threshold.
    when: "has(signals.injection) && has(signals.injection.external) && signals.injection.external.suspicious == true"
    reason: "the external classifier flags \${signals.injection.external.flagged} as a prompt injection (score \${signals.injection.external.score}); a human must confirm"
    approval: { approvers: ["role:approver"], expires: 1h }
  - id: classifier-unavailable
    effect: require_approval
    description: >-
      The external classifier could not be asked or answered nonsense. Fail mode: a call with an
      effect (anything but a read) waits for a human; reads go on, judged by the built-in detector.
    when: "has(signals.injection) && has(signals.injection.external) && signals.injection.external.status == 'error' && has(tool.effect) && tool.effect != 'read'"
    reason: "the external classifier could not judge this call (\${signals.injection.external.error}); a call with an effect waits for a human"
    approval: { approvers: ["role:approver"], expires: 1h }
`,
  },
];

/** Ids of the guard policies: a deny by one of them (or by a user policy replacing one) is a guard deny. */
export const GUARD_POLICY_IDS: ReadonlySet<string> = new Set(DEFAULT_GUARD_POLICIES.map((p) => p.id));

/**
 * What the policy loader is told about the guard policies: load them (unless `enabled` is false)
 * beside the folder's, and treat them, or a user policy replacing one, as adding caution only.
 * The policy engine knows nothing of guards; this is where the two meet, as data.
 */
export function guardPolicyOptions(enabled: boolean): Pick<LoadOptions, 'builtIns' | 'cautionOnly'> {
  return { ...(enabled ? { builtIns: DEFAULT_GUARD_POLICIES } : {}), cautionOnly: GUARD_POLICY_IDS };
}
