import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../src/auth/credentials.js';
import { createWarden, type Warden } from '../../src/services/warden.js';
import type { DecisionRecord } from '../../src/store/records.js';

/**
 * A real Warden on a SQLite file whose log holds calls made through the pipeline, and two policy
 * folders: `current` (in force) and `candidate`, which
 * - raises the refund limit from 1,000 to 5,000: refunds of 2,000, 2,500 (acme) and 3,000 (globex),
 *   denied today, would be allowed (deny→allow, 3 records);
 * - denies customer look-ups by competitor e-mail addresses: the e-mail argument is redacted in
 *   the log, so the look-ups that sent one are undetermined (2), the one that did not is not;
 * - denies order listings above 20: today a cap obligation brings `limit` down to 10 after the
 *   decision, so only the arguments as decided (kept by the record) show the change (allow→deny, 1).
 */
export const CURRENT = {
  'payments.yaml': `id: payments
version: "1"
rules:
  - id: small-refunds
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 1000"
  - id: large-refunds
    effect: deny
    tools: [issue_refund]
    when: "args.amount > 1000"
    reason: refunds above 1000 are not allowed
`,
  'customers.yaml': `id: customers
version: "1"
rules:
  - id: support-looks-up
    effect: allow
    tools: [lookup_customer]
    when: "'support' in agent.roles"
  - id: orders-capped
    effect: allow
    tools: [list_orders]
    obligations: [{ cap: { arg: limit, max: 10 } }]
`,
};

export const CANDIDATE = {
  'payments.yaml': `id: payments
version: "2"
rules:
  - id: refunds-up-to-5000
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 5000"
  - id: large-refunds
    effect: deny
    tools: [issue_refund]
    when: "args.amount > 5000"
`,
  'customers.yaml': `id: customers
version: "2"
rules:
  - id: support-looks-up
    effect: allow
    tools: [lookup_customer]
    when: "'support' in agent.roles"
  - id: no-competitor-lookups
    effect: deny
    tools: [lookup_customer]
    when: "has(args.email) && args.email.endsWith('@competitor.example')"
  - id: orders-capped
    effect: allow
    tools: [list_orders]
    obligations: [{ cap: { arg: limit, max: 10 } }]
  - id: no-big-listings
    effect: deny
    tools: [list_orders]
    when: "args.limit > 20"
`,
};

export const TOKENS = { ada: 'ada-token-0123456789abcdef', acme: 'acme-admin-token-0123456789', globex: 'globex-admin-token-0123456', vic: 'vic-viewer-token-0123456789' };

export interface Fixture {
  dir: string;
  config: string;
  db: string;
  current: string;
  candidate: string;
  warden: Warden;
  /** Every record written, oldest first. */
  records(): Promise<DecisionRecord[]>;
  close(): Promise<void>;
}

function writeFolder(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** Writes the folders and config, starts Warden, and makes the calls the scenario needs. */
export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-replay-'));
  const current = join(dir, 'current');
  const candidate = join(dir, 'candidate');
  writeFolder(current, CURRENT);
  writeFolder(candidate, CANDIDATE);
  const config = join(dir, 'warden.yaml');
  writeFileSync(
    config,
    `storage: sqlite:./warden.db
policies: ./current
decision_cache: { ttl: 0s }
agents:
  - { id: support-agent, roles: [support], tenant: acme, trust: medium }
  - { id: globex-agent, roles: [support], tenant: globex, trust: medium }
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.ada)}", roles: [admin] }
    - { id: acme-admin, token_hash: "${sha256(TOKENS.acme)}", roles: [admin], tenant: acme }
    - { id: globex-admin, token_hash: "${sha256(TOKENS.globex)}", roles: [admin], tenant: globex }
    - { id: vic, token_hash: "${sha256(TOKENS.vic)}", roles: [viewer], tenant: acme }
server: { watch_policies: false }
`,
  );
  const warden = await createWarden({ config });
  const ok = async () => ({ ok: true });
  warden.guard(ok, { name: 'issue_refund', effect: 'write', risk: 'medium' }, { agentId: 'support-agent' });
  warden.guard(ok, { name: 'lookup_customer', effect: 'read', risk: 'low' }, { agentId: 'support-agent' });
  warden.guard(ok, { name: 'list_orders', effect: 'read', risk: 'low' }, { agentId: 'support-agent' });
  const call = (agentId: string, tenant: string, tool: string, args: Record<string, unknown>) => warden.call({ agentId, tenant, tool, args, via: 'sdk' });
  for (const amount of [50, 2000, 2500, 20_000]) await call('support-agent', 'acme', 'issue_refund', { order_id: `o-${amount}`, amount });
  await call('globex-agent', 'globex', 'issue_refund', { order_id: 'g-1', amount: 3000 });
  await call('support-agent', 'acme', 'lookup_customer', { email: 'bob@competitor.example' });
  await call('support-agent', 'acme', 'lookup_customer', { email: 'carol@customer.example' });
  await call('support-agent', 'acme', 'lookup_customer', { customer_id: 'c-7' });
  await call('support-agent', 'acme', 'list_orders', { limit: 50 });
  await warden.audit.flush();
  return {
    dir,
    config,
    db: join(dir, 'warden.db'),
    current,
    candidate,
    warden,
    records: async () => warden.store.scanDecisions(0, 10_000),
    close: () => warden.close(),
  };
}

/** The candidate folder as the HTTP API takes it. */
export const candidateFiles = (files: Record<string, string> = CANDIDATE) => Object.entries(files).map(([file, text]) => ({ file, text }));
