import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

/**
 * An upstream's elicitation/create reaches the agent's client through Warden's /mcp (Streamable
 * HTTP, the official SDK client) as the action `elicitation.create`, decided and logged, with the
 * built-in guard policies on. The MCP conformance suite's plain form ("Please provide your
 * information") was held by the injection guard's classifier until the call timed out
 * (tools-call-elicitation, issue 18); a form the policy refuses, or one carrying an injection the
 * rules find, never reaches the client and the upstream gets an error.
 */

const ASKER = fileURLToPath(new URL('./fixtures/asking-server.mjs', import.meta.url));

const POLICY = `id: elicitation
version: 1
rules:
  - { id: tools, effect: allow, tools: [ask] }
  - { id: forms, effect: allow, actions: [elicitation.create], tools: ["elicitation:asker"] }
  - id: no-addresses
    effect: deny
    actions: [elicitation.create]
    tools: ["elicitation:asker"]
    when: "has(args.requestedSchema.properties.shipping_address)"
    reason: "this upstream may not ask the user for an address"
`;

let dir: string;
let http: RunningServer;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-elicitation-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'p.yaml'), POLICY);
  const k = generateApiKey();
  key = k.key;
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false }
agents:
  - { id: agent-a, tenant: acme, trust: high, credentials: [{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }] }
mcp: { approval_wait: 0s }
upstreams:
  - name: asker
    stdio: { command: "${process.execPath}", args: ["${ASKER}"] }
    timeout: 20s
`,
  );
  http = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
  for (let i = 0; i < 200 && !http.warden.mcp.allUpstreams().every((u) => u.health().state === 'ready'); i++) await new Promise((r) => setTimeout(r, 50));
}, 30_000);

afterAll(async () => {
  await http?.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = (result: unknown) => ((result as CallToolResult).content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');

/**
 * Calls `ask` in a new MCP session (what one test's guards learn must not hold another's calls):
 * the upstream sends the elicitation named `question` (fixtures/asking-server.mjs), the client
 * accepts it.
 */
async function ask(question: 'conformance' | 'address' | 'injected' | 'password') {
  const asked: ElicitRequest['params'][] = [];
  const client = new Client({ name: 'asking', version: '1' }, { capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params);
    return { action: 'accept', content: { response: 'Ada Lovelace' } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  const result = await client.callTool({ name: 'ask', arguments: { question } }).finally(() => client.close());
  await http.warden.audit.flush();
  // The newest decision (an allowed elicitation, not a read, also has an outcome record).
  const records = await http.warden.store.queryDecisions({ tool: 'elicitation:asker', order: 'desc', limit: 5 });
  return { asked, text: text(result), record: records.find((r) => r.kind === 'decision')! };
}

describe("an upstream's elicitation/create through Warden's /mcp", () => {
  it("reaches the client with the conformance suite's form, and the answer reaches the upstream", async () => {
    const { asked, text: answer, record } = await ask('conformance');
    expect(asked).toEqual([expect.objectContaining({ message: 'Please provide your information' })]);
    // (The result may carry the guard's warning before it: the classifier flags short texts like it.)
    expect(answer).toContain('answered: action=accept, content={"response":"Ada Lovelace"}');
    expect(record).toMatchObject({ action: 'elicitation.create', effect: 'allow', policy: 'elicitation', rule: 'forms' });
    expect(record.args).toMatchObject({ message: 'Please provide your information', requestedSchema: { required: ['response'] } });
  });

  it('never reaches the client when the policy denies it: the upstream gets the denial as an error', async () => {
    const { asked, text: answer, record } = await ask('address');
    expect(asked).toEqual([]);
    expect(answer).toMatch(/^elicitation failed: .*this upstream may not ask the user for an address/);
    expect(record).toMatchObject({ action: 'elicitation.create', effect: 'deny', policy: 'elicitation', rule: 'no-addresses' });
    expect(record.args).toMatchObject({ message: 'Where should the order be shipped?' });
  });

  it('never asks the user for a credential: the form is refused with a reason about the form, not the agent', async () => {
    const { asked, text: answer, record } = await ask('password');
    expect(asked).toEqual([]);
    expect(answer).toMatch(/^elicitation failed: /);
    expect(answer).toContain('an MCP server may not ask the user for credentials');
    expect(answer).not.toContain('never passed by agents');
    expect(record).toMatchObject({ action: 'elicitation.create', effect: 'deny', stage: 'arguments' });
  });

  it('is still held by the injection guard when the rules find an injection in it', async () => {
    const { asked, text: answer, record } = await ask('injected');
    expect(asked).toEqual([]);
    expect(answer).toMatch(/^elicitation failed: /);
    expect(record).toMatchObject({ action: 'elicitation.create', effect: 'require_approval', policy: 'guard-injection', rule: 'injection-in-arguments' });
  });
});
