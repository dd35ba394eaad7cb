import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';
import { createWarden, type Warden } from '../../src/index.js';
import { buildServer } from '../../src/surfaces/http/server.js';

/**
 * A shop agent and its policies, for the framework adapters' tests: `lookup_order` is allowed,
 * `delete_account` denied, `issue_refund` over 100 held for a finance manager, and `export_all`
 * has no rule (denied by default). Real SQLite, real policies, real HTTP for the remote gateway.
 */
const POLICY = `id: shop
version: 1
rules:
  - id: lookups
    effect: allow
    tools: [lookup_order]
  - id: list-orders-capped
    effect: allow
    tools: [list_orders]
    obligations:
      - cap: { arg: limit, max: 10 }
      - redact: ["result.orders[*].email"]
  - id: never-delete
    effect: deny
    tools: [delete_account]
    reason: "accounts are never deleted by agents"
  - id: small-refunds
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
  - id: large-refunds
    effect: require_approval
    tools: [issue_refund]
    when: "args.amount > 100"
    reason: "refunds over 100 need a finance manager"
    approval: { approvers: ["role:finance_manager"], quorum: 1, expires: 1h }
`;

export const AGENT = 'shop-agent';
export const TENANT = 'acme';
export const FIONA = { id: 'fiona', roles: ['approver', 'finance_manager'], tenant: TENANT };

export interface Fixture {
  warden: Warden;
  apiKey: string;
  fionaToken: string;
  /** A gateway (`warden serve`'s HTTP API) over the same Warden, started on demand. */
  gatewayUrl(): Promise<string>;
  close(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-adapter-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'shop.yaml'), POLICY);
  const key = generateApiKey();
  const fionaToken = 'fiona-token-for-the-adapter-tests';
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
agents:
  - id: ${AGENT}
    roles: [support]
    tenant: ${TENANT}
    trust: medium
    credentials: [{ key_id: ${key.keyId}, api_key_hash: "${key.hash}" }]
humans:
  tokens:
    - { id: fiona, token_hash: "${sha256(fionaToken)}", roles: [approver, finance_manager], tenant: ${TENANT} }
tools:
  - name: send_invoice
    effect: external
    http: { url: "http://127.0.0.1:1/send_invoice" }
  - name: issue_refund
    risk: high
    effect: write
    input_schema: { type: object, required: [order_id, amount], properties: { order_id: { type: string }, amount: { type: number } }, additionalProperties: false }
`,
  );
  const warden = await createWarden({ config: join(dir, 'warden.yaml') });
  let app: FastifyInstance | undefined;
  return {
    warden,
    apiKey: key.key,
    fionaToken,
    async gatewayUrl() {
      if (!app) {
        app = await buildServer(warden, { logger: false });
        await app.listen({ host: '127.0.0.1', port: 0 });
      }
      const address = app.server.address() as { port: number };
      return `http://127.0.0.1:${address.port}`;
    },
    async close() {
      await app?.close();
      await warden.close();
    },
  };
}
