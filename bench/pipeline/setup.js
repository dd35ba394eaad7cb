/**
 * The setup shared by the pipeline benchmark (run.js) and its profiling loop (profile.js): a
 * temp folder with warden.yaml (SQLite file storage), a policy folder of 21 rules in 7 policies,
 * one agent with an API key, one rate limit that never triggers, and a tool registry whose
 * `read_orders` runs in process and answers at once (so the tool's own time is ~0).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { generateApiKey } from '../../dist/auth/credentials.js';
import { createWarden } from '../../dist/services/warden.js';

export const AGENT = 'support-agent';
export const TENANT = 'acme-corp';
export const TOOL = 'read_orders';

/** 21 rules in 7 policies; 7 of them (3 baseline, 3 orders, 1 shadow) are candidates for read_orders. */
export const POLICIES = {
  'baseline.yaml': `id: baseline
version: 1
owner: security-team
description: Tenant isolation and minimum trust for risky tools, whatever other policies allow.
rules:
  - id: cross-tenant
    effect: deny
    when: "has(resource.tenant) && resource.tenant != tenant"
    reason: "cross-tenant access: request tenant \${tenant} does not match \${resource.tenant}"
  - id: cross-tenant-argument
    effect: deny
    when: "has(args.tenant) && args.tenant != tenant"
    reason: "cross-tenant access: request tenant \${tenant} does not match \${args.tenant}"
  - id: destructive-needs-trust
    effect: deny
    when: "has(tool.effect) && tool.effect == 'destructive' && !trust_at_least('high')"
    reason: "\${agent.id} (trust \${agent.trust}) may not run destructive tools"
`,
  'orders.yaml': `id: orders
version: 4
owner: support-platform
description: Support reads orders of its own tenant; bulk reads and exports are restricted.
rules:
  - id: support-reads-orders
    effect: allow
    actions: [tool.call]
    tools: [read_orders]
    when: "'support' in agent.roles && (!has(args.limit) || args.limit <= 500)"
    reason: "support may read orders of its own tenant"
  - id: low-trust-no-orders
    effect: deny
    actions: [tool.call]
    tools: [read_orders]
    when: "agent.trust == 'low'"
    reason: "\${agent.id} has low trust and may not read orders"
  - id: bulk-order-reads
    effect: require_approval
    actions: [tool.call]
    tools: [read_orders]
    when: "has(args.limit) && args.limit > 500"
    reason: "reading more than 500 orders at once needs a support lead"
    approval: { approvers: ["role:support_lead"], expires: 1h }
  - id: export-needs-approval
    effect: require_approval
    actions: [tool.call]
    tools: [export_csv]
    when: "!trust_at_least('admin')"
    reason: "bulk exports of customer data need a data-protection officer"
    approval: { approvers: ["role:dpo"], quorum: 1, expires: 4h }
  - id: admin-exports
    effect: allow
    actions: [tool.call]
    tools: [export_csv]
    when: "'admin' in agent.roles"
`,
  'orders-v5-draft.yaml': `id: orders-v5-draft
version: 5
owner: support-platform
description: Proposed tighter page size, watched in shadow mode.
mode: shadow
rules:
  - id: smaller-pages
    effect: deny
    tools: [read_orders]
    when: "has(args.limit) && args.limit > 200"
    reason: "pages over 200 orders would be refused"
`,
  'refunds.yaml': `id: refunds
version: 3
owner: payments-team
rules:
  - id: refund-needs-finance
    effect: deny
    actions: [tool.call]
    tools: [issue_refund]
    when: "!('finance' in agent.roles)"
    reason: "\${agent.id} lacks the finance role required for issue_refund"
  - id: small-refund
    effect: allow
    actions: [tool.call]
    tools: [issue_refund]
    when: "args.amount <= 100"
    obligations:
      - require_idempotency_key: { arg: order_id }
  - id: large-refund
    effect: require_approval
    actions: [tool.call]
    tools: [issue_refund]
    when: "args.amount > 100"
    approval: { approvers: ["role:finance_manager"], quorum: 1, expires: 1h }
  - id: refund-hard-cap
    effect: deny
    actions: [tool.call]
    tools: [issue_refund]
    when: "args.amount > 5000"
    reason: "refunds over 5000 go through the finance back office"
`,
  'support.yaml': `id: support
version: 1
owner: support-platform
rules:
  - id: tickets-and-knowledge
    effect: allow
    actions: [tool.call]
    tools: [create_support_ticket, search_knowledge_base]
    when: "'support' in agent.roles || 'admin' in agent.roles"
  - id: ticket-priority-cap
    effect: require_approval
    actions: [tool.call]
    tools: [create_support_ticket]
    when: "has(args.priority) && args.priority == 'critical'"
    approval: { approvers: ["role:support_lead"], allow_requester: true }
`,
  'operations.yaml': `id: operations
version: 5
owner: sre-team
rules:
  - id: no-prod-restarts
    effect: deny
    actions: [tool.call]
    tools: [restart_service]
    when: "context.environment == 'production'"
  - id: restart-elsewhere-needs-sre
    effect: require_approval
    actions: [tool.call]
    tools: [restart_service]
    when: "context.environment != 'production' && !in_time_window(now, '09:00', '17:00', 'Europe/Berlin')"
    approval: { approvers: ["role:sre"], expires: 30m }
  - id: restart-in-office-hours
    effect: allow
    actions: [tool.call]
    tools: [restart_service]
    when: "'ops' in agent.roles"
`,
  // Uses related(): with it in the set, the pipeline loads the caller's relationship tuples from
  // the store on every call (any tool), because the PDP might need them.
  'files.yaml': `id: files
version: 2
owner: platform-team
rules:
  - id: outside-workspace
    effect: deny
    actions: [tool.call]
    tools: [read_file, write_file]
    when: "!args.path.startsWith('/workspace/') || args.path.contains('..')"
    reason: "\${args.path} is outside /workspace"
  - id: members-read
    effect: allow
    actions: [tool.call]
    tools: [read_file]
    when: "related('agent:' + agent.id, 'member', 'project:' + args.path.split('/')[2])"
  - id: agents-write
    effect: allow
    actions: [tool.call]
    tools: [write_file]
    when: "trust_at_least('medium')"
`,
};

const TOOLS = `
tools:
  - name: read_orders
    description: Orders of a customer, newest first.
    effect: read
    risk: low
    input_schema:
      type: object
      required: [customer_id]
      properties:
        customer_id: { type: string, pattern: "^c-[0-9]{1,12}$" }
        limit: { type: integer, minimum: 1, maximum: 1000 }
        status: { type: string, enum: [open, shipped, delivered, returned] }
      additionalProperties: false
  - name: issue_refund
    effect: write
    risk: high
    spend_arg: amount
    input_schema:
      type: object
      required: [order_id, amount]
      properties: { order_id: { type: string }, amount: { type: number, minimum: 0 } }
  - { name: search_knowledge_base, effect: read, risk: low }
  - { name: create_support_ticket, effect: write, risk: low }
  - { name: export_csv, effect: external, risk: high }
  - { name: restart_service, effect: destructive, risk: high }
  - { name: read_file, effect: read, risk: medium }
  - { name: write_file, effect: write, risk: medium }
`;

/** What the in-process read_orders answers: constant, small, immediate. */
export const READ_ORDERS_RESULT = { orders: [] };
export const readOrdersExecutor = async () => ({ ok: true, result: READ_ORDERS_RESULT });

/** 1,000 distinct, valid argument objects (the decision cache, when on, sees 1,000 keys). */
export function argumentSets(n = 1_000) {
  const statuses = ['open', 'shipped', 'delivered', 'returned'];
  return Array.from({ length: n }, (_, i) => ({ customer_id: `c-${100_000 + i}`, limit: 25 + (i % 4) * 25, status: statuses[i % 4] }));
}

/**
 * Writes the folder and starts Warden on it. `extraConfig` is appended to warden.yaml;
 * `leaveOut` names policy files not written (e.g. 'files.yaml': no policy uses related()).
 * Returns the Warden, the agent's API key, the folder and its SQLite file.
 */
export async function startBenchWarden({ decisionCacheTtl = '0s', extraConfig = '', leaveOut = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-pipeline-'));
  mkdirSync(join(dir, 'policies'));
  for (const [file, text] of Object.entries(POLICIES)) if (!leaveOut.includes(file)) writeFileSync(join(dir, 'policies', file), text);
  const key = generateApiKey();
  const config = `
storage: sqlite:./warden.db
policies: ./policies
decision_cache: { ttl: ${decisionCacheTtl} }
limits:
  rate:
    - { scope: agent, limit: 1000000000, window: 1m }
agents:
  - id: ${AGENT}
    roles: [support]
    tenant: ${TENANT}
    trust: medium
    credentials:
      - { key_id: ${key.keyId}, api_key_hash: "${key.hash}" }
  - { id: refund-agent, roles: [finance], tenant: ${TENANT}, trust: medium }
  - { id: ops-agent, roles: [ops], tenant: ${TENANT}, trust: high }
${TOOLS}
${extraConfig}`;
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, config);
  const warden = await createWarden({ config: file });
  // No http: executor: the tool runs in process, so the figures are Warden's own time.
  warden.tools.useExecutor(TOOL, readOrdersExecutor);
  return { warden, key: key.key, dir, dbFile: join(dir, 'warden.db') };
}
