/**
 * A real Warden for the security suites: the pipeline harness (a SQLite file in a temp folder, the
 * example tool service on 127.0.0.1, the example policies) with people of two tenants, a PEP
 * credential and an API key for the competitor's agent, served by the real fastify app with the
 * MCP gateway (/mcp) and the governance MCP server (/mcp/governance) mounted, listening on
 * 127.0.0.1. Requests go through fetch (undici keeps the connections alive).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { issueApiKey } from '../../src/auth/api-keys.js';
import { sha256 } from '../../src/auth/credentials.js';
import type { Principal } from '../../src/auth/principal.js';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { governanceModule } from '../../src/surfaces/http/mcp/governance-http.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/** Bearer tokens of the people and the PEP; each is configured by its sha256 only. */
export const TOKENS = {
  /** vic: viewer of acme-corp. */
  viewer: 'sec-vic-viewer-token-5b1e0c9a',
  /** abe: approver of acme-corp, with the business roles the example approval rules name. */
  approver: 'sec-abe-approver-token-7d2f4a61',
  /** alan: admin of acme-corp only. */
  acmeAdmin: 'sec-alan-acme-admin-token-3c8e',
  /** rita: viewer of competitor-corp. */
  rivalViewer: 'sec-rita-rival-viewer-token-91f0',
  /** olga: approver of competitor-corp, with the same business roles as abe. */
  rivalApprover: 'sec-olga-rival-approver-token-4e',
  /** ada: admin of every tenant. */
  admin: 'sec-ada-all-tenant-admin-token-a6',
  /** crm: a PEP credential for acme-corp. */
  pep: 'sec-crm-pep-token-0f3b8d27c5e1',
} as const;

/** The principals the tokens stand for, for calling services directly in setup. */
export const PEOPLE = {
  viewer: { kind: 'human', id: 'vic', roles: ['viewer'], tenant: 'acme-corp' },
  approver: { kind: 'human', id: 'abe', roles: ['approver', 'finance_manager', 'support_lead'], tenant: 'acme-corp' },
  acmeAdmin: { kind: 'human', id: 'alan', roles: ['admin'], tenant: 'acme-corp' },
  rivalViewer: { kind: 'human', id: 'rita', roles: ['viewer'], tenant: 'competitor-corp' },
  rivalApprover: { kind: 'human', id: 'olga', roles: ['approver', 'finance_manager', 'support_lead'], tenant: 'competitor-corp' },
  admin: { kind: 'human', id: 'ada', roles: ['admin'], tenant: '*' },
} as const satisfies Record<string, Principal>;

const humanLine = (token: string, p: { id: string; roles: readonly string[]; tenant: string }) =>
  `    - { id: ${p.id}, token_hash: "${sha256(token)}", roles: [${p.roles.join(', ')}], tenant: "${p.tenant}" }`;

const SECURITY_CONFIG = `
humans:
  tokens:
${(Object.keys(PEOPLE) as Array<keyof typeof PEOPLE>).map((k) => humanLine(TOKENS[k], PEOPLE[k])).join('\n')}
peps:
  - { id: crm, tenants: [acme-corp], token_hash: "${sha256(TOKENS.pep)}" }
`;

export interface SecurityServer {
  h: Harness;
  app: FastifyInstance;
  base: string;
  /** API keys: support-agent and refund-agent (acme-corp), other-tenant-agent (competitor-corp). */
  keys: { support: string; refund: string; rival: string };
  close(): Promise<void>;
}

/**
 * Starts the server. `extra` is more warden.yaml (top-level keys the harness does not set, such as
 * `server`, `mcp`, `incidents`).
 */
export async function startSecurityServer(extra = ''): Promise<SecurityServer> {
  const h = await startHarness(`${SECURITY_CONFIG}${extra}`, { realClock: true });
  const rival = await issueApiKey(h.warden.store, 'other-tenant-agent', Date.now());
  const app = await buildServer(h.warden, { logger: false }, [governanceModule, gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    h,
    app,
    base,
    keys: { support: h.keys['support-agent']!, refund: h.keys['refund-agent']!, rival },
    async close() {
      await app.close();
      await h.close();
    },
  };
}

export interface HttpAnswer {
  status: number;
  type: string;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface HttpOptions {
  token?: string;
  /** Serialised as JSON, with content-type application/json. */
  body?: unknown;
  /** Sent as it is (content-type application/json unless a header says otherwise). */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Stop after the headers when the answer is a 2xx (an event stream). */
  headersOnly?: boolean;
}

/** One request; never throws for an HTTP status. */
export async function request(base: string, method: string, path: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: body as RequestInit['body'], redirect: 'manual' });
  if (options.headersOnly && response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, text: '', json: undefined };
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, text, json };
}

/** A tool-call envelope with a fresh request id. */
export const envelope = (agent: string, tool: string, args: unknown, extra: Record<string, unknown> = {}) => ({ agent_id: agent, request_id: nextRequestId(), tool, arguments: args, ...extra });

/** An ActionRequest for the decision API. */
export const actionRequest = (agentId: string, tenant: string, tool: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  tenant,
  actor: { agent: { id: agentId } },
  action: 'tool.call',
  resource: { type: 'tool', id: tool },
  args,
  ...extra,
});

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An RFC 9457 problem body: type, title, status and detail, as every API error has. */
export function isProblem(answer: HttpAnswer): boolean {
  const j = answer.json;
  return (
    answer.type.startsWith('application/problem+json') &&
    isObject(j) &&
    typeof j.type === 'string' &&
    typeof j.title === 'string' &&
    j.status === answer.status &&
    typeof j.detail === 'string' &&
    j.detail.length > 0
  );
}

/** The problem type's last segment (`missing-role`, `agents-not-allowed`…). */
export const problemSlug = (answer: HttpAnswer): string | undefined => (isObject(answer.json) && typeof answer.json.type === 'string' ? answer.json.type.split('/').pop() : undefined);

/** Whether every decision record id in `ids` is in the log (after flushing it). */
export async function missingRecords(h: Harness, ids: Iterable<string>): Promise<string[]> {
  await h.warden.audit.flush();
  const missing: string[] = [];
  for (const id of ids) if (!(await h.warden.store.getDecision(id))) missing.push(id);
  return missing;
}

/** The number of records in the decision log (its head's seq), after flushing it. */
export async function recordCount(h: Harness): Promise<number> {
  await h.warden.audit.flush();
  return (await h.warden.store.lastDecision())?.seq ?? 0;
}
