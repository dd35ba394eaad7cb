import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startToolServer, type ToolServer } from '../../examples/tools/tool-server.mjs';
import { generateApiKey } from '../../src/auth/credentials.js';
import { createWarden, type Warden } from '../../src/services/warden.js';

export const EXAMPLE_POLICIES = fileURLToPath(new URL('../../examples/policies', import.meta.url));
export const TOOLS_TOKEN = 'tools-token-7f3a9c1e5b2d4f6a8c0e';
export const HMAC_SECRET = 'hmac-secret-9a8b7c6d5e4f3a2b1c0d';

/** Policies for the tools only these tests use (slow, huge, failing). */
const TEST_TOOLS_POLICY = `id: test-tools
version: 1
rules:
  - id: support-uses-test-tools
    effect: allow
    tools: [slow_tool, huge_tool, failing_tool, echo_request]
    when: "'support' in agent.roles"
  - id: tickets-need-key
    effect: allow
    tools: [create_support_ticket]
    when: "has(args.subject) && args.subject == 'keyed'"
    obligations: [{ require_idempotency_key: { arg: ticket_key } }]
`;

export interface Harness {
  dir: string;
  warden: Warden;
  tools: ToolServer;
  keys: Record<string, string>;
  clock: { now: number };
  close(): Promise<void>;
}

/**
 * A real setup: the example tool service on 127.0.0.1, a SQLite file in a temp folder, the
 * example policies plus a few for test-only tools, secrets in files, API keys for each agent.
 */
export async function startHarness(extraConfig = '', options: { realClock?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-e2e-'));
  cpSync(EXAMPLE_POLICIES, join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'test-tools.yaml'), TEST_TOOLS_POLICY);
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'tools_token'), `${TOOLS_TOKEN}\n`);
  writeFileSync(join(dir, 'secrets', 'support_hmac'), HMAC_SECRET);
  const tools = await startToolServer({ token: TOOLS_TOKEN });
  const keys: Record<string, string> = {};
  const credential = (agent: string) => {
    const k = generateApiKey();
    keys[agent] = k.key;
    return `{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }`;
  };
  const http = (tool: string, extra = '') =>
    `http: { url: "${tools.url}/tools/${tool}", headers: { authorization: "Bearer \${secret:tools_token}" }${extra} }`;
  const config = `
storage: sqlite:./warden.db
policies: ./policies
secrets:
  providers:
    - { type: file, dir: ./secrets }
decision_cache: { ttl: 0s }
limits:
  rate:
    - { scope: agent_tool, tool: search_knowledge_base, limit: 3, window: 1m }
  session: { max_calls: 20, max_spend: 300 }
agents:
  - id: support-agent
    roles: [support]
    tenant: acme-corp
    trust: medium
    credentials:
      - ${credential('support-agent')}
      - { key_id: supporthmac, hmac_secret: "\${secret:support_hmac}" }
  - { id: refund-agent, roles: [finance], tenant: acme-corp, trust: medium, credentials: [${credential('refund-agent')}] }
  - { id: admin-agent, roles: [admin, support], tenant: acme-corp, trust: admin }
  - { id: other-tenant-agent, roles: [support], tenant: competitor-corp, trust: medium }
  - { id: suspended-bot, roles: [support], tenant: acme-corp, status: suspended }
tools:
  - name: read_orders
    effect: read
    risk: low
    input_schema:
      type: object
      properties: { customer_id: { type: string }, limit: { type: integer }, tenant: { type: string } }
      additionalProperties: false
    ${http('read_orders')}
  - name: issue_refund
    effect: write
    risk: high
    spend_arg: amount
    input_schema:
      type: object
      required: [order_id, amount]
      properties: { order_id: { type: string }, amount: { type: number, minimum: 0 } }
    ${http('issue_refund')}
  - { name: search_knowledge_base, effect: read, risk: low, ${http('search_knowledge_base')} }
  - { name: create_support_ticket, effect: write, risk: low, ${http('create_support_ticket')} }
  - { name: export_csv, effect: external, risk: high, ${http('export_csv')} }
  - { name: slow_tool, effect: read, risk: low, ${http('slow_tool', ', timeout: 300ms')} }
  - { name: huge_tool, effect: read, risk: low, ${http('huge_tool', ', max_response_bytes: 10000')} }
  - { name: failing_tool, effect: write, risk: low, ${http('failing_tool')} }
  - { name: echo_request, effect: read, risk: low, ${http('echo_request')} }
${extraConfig}`;
  const file = join(dir, 'warden.yaml');
  writeFileSync(file, config);
  const clock = { now: Date.parse('2026-11-02T10:00:00Z') };
  const warden = await createWarden({ config: file, clock: options.realClock ? undefined : () => clock.now });
  return {
    dir,
    warden,
    tools,
    keys,
    clock,
    async close() {
      await warden.close();
      await tools.close();
    },
  };
}

let counter = 0;
export const nextRequestId = () => `req-${process.pid}-${++counter}`;
