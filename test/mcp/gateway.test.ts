import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { startIdentityProvider, type IdentityProvider } from '../helpers/identity-provider.js';

const node = process.execPath;
const pkg = (p: string) => fileURLToPath(new URL(`../../node_modules/${p}`, import.meta.url));
const EVERYTHING = pkg('@modelcontextprotocol/server-everything/dist/index.js');
const FILESYSTEM = pkg('@modelcontextprotocol/server-filesystem/dist/index.js');
const RUG_PULL = fileURLToPath(new URL('./fixtures/rug-pull-server.mjs', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

const TOKENS = { admin: 'admin-token-0123456789', approver: 'approver-token-0123456789', acmeAdmin: 'acme-admin-token-0123456789' };

/** Policies written for these tests: what each agent may do through the gateway. */
const policy = (sandbox: string) => `id: mcp-gateway
version: 1
rules:
  - id: files-read
    effect: allow
    tools: [read_text_file, list_directory, list_allowed_directories, get_file_info]
    when: "'files' in agent.roles"
  - id: files-write-in-sandbox
    effect: allow
    tools: [write_file]
    when: "'files' in agent.roles && glob(args.path, '${sandbox}/allowed/**')"
  - id: files-write-elsewhere
    effect: deny
    tools: [write_file]
    when: "!glob(args.path, '${sandbox}/allowed/**')"
    reason: "writes are only allowed under ${sandbox}/allowed (asked for \${args.path})"
  - id: files-move-needs-approval
    effect: require_approval
    tools: [move_file]
    when: "'files' in agent.roles"
    approval: { approvers: ["role:approver", "user:alice"], expires: 10m, allow_requester: true }
  - id: echo-for-echo-agents
    effect: allow
    tools: [echo, "remote.echo", get-sum, trigger-long-running-operation]
    when: "'echo' in agent.roles"
  - id: weather
    effect: allow
    tools: [get_weather, change_weather_tool, get_news]
    when: "'echo' in agent.roles"
  - id: docs
    effect: allow
    actions: [resource.read]
    tools: ["resource:everything"]
    when: "'echo' in agent.roles && args.uri.startsWith('demo://resource/static/document/')"
  - id: prompts
    effect: allow
    actions: [prompt.get]
    tools: ["prompt:simple-prompt"]
    when: "'echo' in agent.roles"
`;

interface Setup {
  dir: string;
  sandbox: string;
  keys: Record<string, string>;
  server: RunningServer;
}

async function start(extraUpstreams = '', extraConfig = ''): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-mcp-'));
  const sandbox = join(dir, 'sandbox');
  mkdirSync(join(sandbox, 'allowed'), { recursive: true });
  writeFileSync(join(sandbox, 'allowed', 'hello.txt'), 'hello from the sandbox\n');
  writeFileSync(join(sandbox, 'outside.txt'), 'not for writing\n');
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'mcp.yaml'), policy(sandbox));
  const keys: Record<string, string> = {};
  const credential = (agent: string) => {
    const k = generateApiKey();
    keys[agent] = k.key;
    return `{ key_id: ${k.keyId}, api_key_hash: "${k.hash}" }`;
  };
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
server: { watch_policies: false, body_limit: 262144 }
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: abe, token_hash: "${sha256(TOKENS.approver)}", roles: [approver], tenant: acme }
    - { id: tess, token_hash: "${sha256(TOKENS.acmeAdmin)}", roles: [admin], tenant: acme }
    - { id: alice, token_hash: "${sha256('alice-token-0123456789')}", roles: [viewer], tenant: acme }
agents:
  - { id: files-agent, roles: [files], tenant: acme, trust: medium, credentials: [${credential('files-agent')}] }
  - { id: echo-agent, roles: [echo], tenant: acme, trust: medium, credentials: [${credential('echo-agent')}] }
  - { id: nobody-agent, roles: [], tenant: acme, credentials: [${credential('nobody-agent')}] }
mcp: { approval_wait: 2s, stdio_agent: files-agent }
${extraConfig}
upstreams:
  - name: fs
    stdio: { command: "${node}", args: ["${FILESYSTEM}", "${sandbox}"] }
  - name: everything
    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }
${extraUpstreams}
`,
  );
  const server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
  return { dir, sandbox, keys, server };
}

/**
 * A real identity provider on 127.0.0.1, for on-behalf-of user tokens (authentication.user_jwt):
 * the only way a user an agent acts for is verified over HTTP.
 */
let idp: IdentityProvider | undefined;
async function startIdp(): Promise<string> {
  idp = await startIdentityProvider();
  return `authentication: { user_jwt: { issuer: "${idp.issuer}", audience: warden, agent_claim: azp } }`;
}
/** An on-behalf-of token for `user`, issued to `agent`. */
const userToken = (user: string, agent: string) => idp!.token({ azp: agent }).setSubject(user).setAudience('warden').setIssuedAt().setExpirationTime('5m').sign(idp!.key);

async function connect(s: Setup, agent: string, options: { user?: string; userToken?: string; elicit?: (message: string) => { approve: boolean } } = {}): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' }, { capabilities: options.elicit ? { elicitation: {} } : {} });
  if (options.elicit) {
    const answer = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const { approve } = answer(request.params.message);
      return { action: 'accept', content: { approve, reason: approve ? 'looks right' : 'no' } };
    });
  }
  const headers: Record<string, string> = { authorization: `Bearer ${s.keys[agent]}` };
  if (options.user) headers['x-warden-user'] = options.user;
  if (options.userToken) headers['x-warden-user-token'] = options.userToken;
  await client.connect(new StreamableHTTPClientTransport(new URL(`${s.server.url}/mcp`), { requestInit: { headers } }));
  return client;
}

const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

async function api(s: Setup, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${s.server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, json: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary API bodies
}

describe('the MCP gateway over Streamable HTTP, in front of server-filesystem and server-everything (stdio)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await start(`  - name: weather\n    stdio: { command: "${node}", args: ["${RUG_PULL}"] }`, await startIdp());
  }, 60_000);
  afterAll(async () => {
    if (s) await s.server.close();
    await idp?.close();
  });

  it('shows each agent only the tools policy could allow it', async () => {
    const files = await connect(s, 'files-agent');
    const echo = await connect(s, 'echo-agent');
    const nobody = await connect(s, 'nobody-agent');
    const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();
    const fileTools = await names(files);
    expect(fileTools).toEqual(expect.arrayContaining(['read_text_file', 'write_file', 'move_file', 'list_directory']));
    expect(fileTools).not.toContain('echo');
    expect(fileTools).not.toContain('edit_file'); // no rule could allow it
    const echoTools = await names(echo);
    expect(echoTools).toEqual(expect.arrayContaining(['echo', 'get-sum', 'get_weather']));
    expect(echoTools).not.toContain('read_text_file');
    expect(echoTools).not.toContain('get-env'); // listed by the upstream, allowed by no rule
    expect(await names(nobody)).toEqual([]);
    // Upstream definitions pass through under the exposed name, annotations included.
    const echoTool = (await echo.listTools()).tools.find((t) => t.name === 'echo');
    expect(echoTool?.annotations?.readOnlyHint).toBe(true);
    await Promise.all([files.close(), echo.close(), nobody.close()]);
  });

  it('runs an allowed read and returns the upstream result, with the decision in _meta', async () => {
    const client = await connect(s, 'files-agent');
    const result = (await client.callTool({ name: 'read_text_file', arguments: { path: join(s.sandbox, 'allowed', 'hello.txt') } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('hello from the sandbox');
    expect(result._meta?.['warden/decision']).toMatchObject({ effect: 'allow', rule: 'files-read' });
    await client.close();
  });

  it('denies a write outside the allowed folder with the reason, and writes nothing', async () => {
    const client = await connect(s, 'files-agent');
    const target = join(s.sandbox, 'outside.txt');
    const result = (await client.callTool({ name: 'write_file', arguments: { path: target, content: 'pwned' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(`writes are only allowed under ${s.sandbox}/allowed`);
    // The policy and rule are named once, at the end of the reason.
    expect(text(result)).toMatch(/^Denied by Warden: writes are only allowed under .* \(policy mcp-gateway v1, rule files-write-elsewhere\) \(decision dec_\S+\)$/);
    expect(text(result).match(/files-write-elsewhere/g)).toHaveLength(1);
    expect(readFileSync(target, 'utf8')).toBe('not for writing\n');
    const inside = (await client.callTool({ name: 'write_file', arguments: { path: join(s.sandbox, 'allowed', 'new.txt'), content: 'ok' } })) as CallToolResult;
    expect(inside.isError).toBeFalsy();
    expect(readFileSync(join(s.sandbox, 'allowed', 'new.txt'), 'utf8')).toBe('ok');
    await client.close();
  });

  it('denies an unknown tool and bad arguments as tool errors, and the session goes on', async () => {
    const client = await connect(s, 'echo-agent');
    const unknown = (await client.callTool({ name: 'no_such_tool', arguments: {} })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('unknown tool "no_such_tool"');
    const bad = (await client.callTool({ name: 'get-sum', arguments: { a: 'one', b: 2 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toContain('arguments do not match the schema');
    const good = (await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })) as CallToolResult;
    expect(text(good)).toContain('3');
    await client.close();
  });

  it('holds a destructive call for approval, answers pending with the approval id, and runs it once after approval', async () => {
    const client = await connect(s, 'files-agent');
    const from = join(s.sandbox, 'allowed', 'to-move.txt');
    const to = join(s.sandbox, 'allowed', 'moved.txt');
    writeFileSync(from, 'move me');
    const args = { source: from, destination: to };
    const first = (await client.callTool({ name: 'move_file', arguments: args })) as CallToolResult;
    expect(first.isError).toBe(true);
    const approval = (first._meta?.['warden/approval'] as { id: string }).id;
    expect(text(first)).toContain(`Approval ${approval} is pending`);
    expect(existsSync(from)).toBe(true);

    // A retry before anyone decided waits again and is still pending: no second approval.
    const again = (await client.callTool({ name: 'move_file', arguments: args })) as CallToolResult;
    expect((again._meta?.['warden/approval'] as { id: string }).id).toBe(approval);

    const vote = await api(s, 'POST', `/v1/approvals/${approval}/approve`, TOKENS.approver, { reason: 'planned cleanup' });
    expect(vote.status).toBe(200);
    expect(existsSync(to)).toBe(true);
    expect(existsSync(from)).toBe(false);

    const retried = (await client.callTool({ name: 'move_file', arguments: args, _meta: { 'warden/approval': approval } })) as CallToolResult;
    expect(retried.isError).toBeFalsy();
    expect(text(retried)).toContain('Successfully moved');
    const twice = (await client.callTool({ name: 'move_file', arguments: args, _meta: { 'warden/approval': approval } })) as CallToolResult;
    expect(text(twice)).toBe(text(retried)); // the stored result, not a second move

    // Naming the approval gives a call with other arguments nothing: it is decided as itself (held anew).
    const elsewhere = join(s.sandbox, 'allowed', 'elsewhere.txt');
    const other = (await client.callTool({ name: 'move_file', arguments: { source: to, destination: elsewhere }, _meta: { 'warden/approval': approval } })) as CallToolResult;
    expect(other.isError).toBe(true);
    expect((other._meta?.['warden/approval'] as { id: string }).id).not.toBe(approval);
    expect(text(other)).not.toContain('Successfully moved');
    expect(existsSync(to)).toBe(true);
    const opened = (other._meta?.['warden/approval'] as { id: string }).id;
    expect((await api(s, 'POST', `/v1/approvals/${opened}/deny`, TOKENS.approver, { reason: 'not asked for' })).status).toBe(200);
    // Nor does it serve a suspended agent the approved call's result.
    expect((await api(s, 'POST', '/v1/agents/files-agent/suspend', TOKENS.admin, { reason: 'test' })).status).toBe(200);
    try {
      const suspended = (await client.callTool({ name: 'move_file', arguments: args, _meta: { 'warden/approval': approval } })) as CallToolResult;
      expect(suspended.isError).toBe(true);
      expect(text(suspended)).toContain('suspended');
    } finally {
      expect((await api(s, 'POST', '/v1/agents/files-agent/resume', TOKENS.admin, { reason: 'test over' })).status).toBe(200);
    }

    // One execution; each retry recorded as served from the approval.
    const records = await api(s, 'GET', `/v1/audit?tool=move_file&limit=50`, TOKENS.admin);
    const executed = (records.json as unknown as Array<{ outcome: string; approvalId?: string; details?: { servedFromApproval?: string } }>).filter((r) => r.outcome === 'executed' && r.approvalId === approval);
    expect(executed.filter((r) => r.details?.servedFromApproval === undefined)).toHaveLength(1);
    expect(executed.filter((r) => r.details?.servedFromApproval === approval)).toHaveLength(2);
    await client.close();
  });

  it('keeps the call open with progress while an approver decides, then returns the result', async () => {
    const client = await connect(s, 'files-agent');
    const from = join(s.sandbox, 'allowed', 'wait.txt');
    writeFileSync(from, 'wait');
    const progress: string[] = [];
    const call = client.callTool({ name: 'move_file', arguments: { source: from, destination: join(s.sandbox, 'allowed', 'waited.txt') } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 30_000,
    });
    let pending: Array<{ id: string; tool: string }> = [];
    for (let i = 0; i < 50 && pending.length === 0; i++) {
      pending = ((await api(s, 'GET', '/v1/approvals?status=pending', TOKENS.approver)).json as unknown as Array<{ id: string; tool: string }>).filter((a) => a.tool === 'move_file');
      if (!pending.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pending).toHaveLength(1);
    await api(s, 'POST', `/v1/approvals/${pending[0]!.id}/approve`, TOKENS.approver, { reason: 'fine' });
    const result = (await call) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('Successfully moved');
    expect(existsSync(join(s.sandbox, 'allowed', 'waited.txt'))).toBe(true);
    await client.close();
  });

  it('asks the requesting user through elicitation only when a token proves who they are', async () => {
    const move = (client: Client, name: string) => {
      writeFileSync(join(s.sandbox, 'allowed', `${name}.txt`), name);
      return client.callTool({ name: 'move_file', arguments: { source: join(s.sandbox, 'allowed', `${name}.txt`), destination: join(s.sandbox, 'allowed', `${name}-moved.txt`) } }) as Promise<CallToolResult>;
    };
    // The agent merely names alice (X-Warden-User): its own client must not answer for her.
    const named: string[] = [];
    const byName = await connect(s, 'files-agent', { user: 'alice', elicit: (message) => (named.push(message), { approve: true }) });
    const unproven = await move(byName, 'named');
    expect(named).toEqual([]);
    expect(unproven.isError).toBe(true);
    expect(unproven._meta?.['warden/approval']).toBeDefined();
    expect(existsSync(join(s.sandbox, 'allowed', 'named-moved.txt'))).toBe(false);
    // A token for alice issued to another agent proves nothing for this one.
    const stolen: string[] = [];
    const byStolen = await connect(s, 'files-agent', { userToken: await userToken('alice', 'echo-agent'), elicit: (message) => (stolen.push(message), { approve: true }) });
    const refused = await move(byStolen, 'stolen');
    expect(stolen).toEqual([]);
    expect(text(refused)).toMatch(/the user token was issued to "echo-agent", not to agent "files-agent"/);

    // An on-behalf-of token for alice, issued to this agent: she is asked, approves, it runs.
    const asked: string[] = [];
    const client = await connect(s, 'files-agent', { userToken: await userToken('alice', 'files-agent'), elicit: (message) => (asked.push(message), { approve: true }) });
    const result = await move(client, 'elicit');
    expect(asked[0]).toContain('move_file');
    expect(result.isError).toBeFalsy();
    expect(existsSync(join(s.sandbox, 'allowed', 'elicit-moved.txt'))).toBe(true);

    // A verified user the rule does not name is not asked: the call waits for an approver instead.
    const bob = await connect(s, 'files-agent', { userToken: await userToken('bob', 'files-agent'), elicit: () => ({ approve: true }) });
    const held = await move(bob, 'bob');
    expect(held.isError).toBe(true);
    expect(held._meta?.['warden/approval']).toBeDefined();

    // Nothing else is left waiting for later tests.
    for (const a of (await api(s, 'GET', '/v1/approvals?status=pending', TOKENS.approver)).json as unknown as Array<{ id: string }>) {
      expect((await api(s, 'POST', `/v1/approvals/${a.id}/deny`, TOKENS.approver, { reason: 'test cleanup' })).status).toBe(200);
    }
    await Promise.all([byName.close(), byStolen.close(), client.close(), bob.close()]);
  });

  it('reads resources and gets prompts through the pipeline; others are refused with a JSON-RPC error', async () => {
    const client = await connect(s, 'echo-agent');
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toContain('demo://resource/static/document/architecture.md');
    const doc = await client.readResource({ uri: 'demo://resource/static/document/architecture.md' });
    expect(doc.contents[0]?.uri).toBe('demo://resource/static/document/architecture.md');
    await expect(client.readResource({ uri: 'demo://resource/dynamic/text/1' })).rejects.toThrow(/Denied by Warden/);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['simple-prompt']);
    const prompt = await client.getPrompt({ name: 'simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    await expect(client.getPrompt({ name: 'args-prompt', arguments: { city: 'x' } })).rejects.toThrow(/Denied by Warden/);
    await client.close();
  });

  it('blocks a tool whose definition changed (rug pull), reports it, and unblocks it after an admin approves', async () => {
    const client = await connect(s, 'echo-agent');
    expect(text(await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } }))).toBe('Sunny in Oslo');
    await client.callTool({ name: 'change_weather_tool', arguments: {} });
    let blocked: CallToolResult | undefined;
    for (let i = 0; i < 50; i++) {
      blocked = (await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })) as CallToolResult;
      if (blocked.isError) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(blocked?.isError).toBe(true);
    expect(text(blocked)).toContain('changed since it was pinned (description, input schema changed)');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('get_weather');
    const incidents = await api(s, 'GET', '/v1/incidents', TOKENS.admin);
    expect((incidents.json as unknown as Array<{ type: string }>).some((i) => i.type === 'tool_definition_changed')).toBe(true);
    const catalog = await api(s, 'GET', '/v1/tools', TOKENS.admin);
    expect(catalog.json.pins.find((p: { tool: string }) => p.tool === 'weather/get_weather')).toMatchObject({ status: 'changed' });

    expect((await api(s, 'POST', '/v1/tools/approve', TOKENS.approver, { tool: 'weather/get_weather', reason: 'x' })).status).toBe(403);
    // The upstream serves every tenant: an admin of one tenant would unblock it for the others.
    const tenantAdmin = await api(s, 'POST', '/v1/tools/approve', TOKENS.acmeAdmin, { tool: 'weather/get_weather', reason: 'x' });
    expect(tenantAdmin.status).toBe(403);
    expect(tenantAdmin.json.detail).toContain('tess is an admin of acme; a tool definition is trusted for every tenant, so only an admin of every tenant may approve it');
    expect((await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })).isError).toBe(true);
    const approved = await api(s, 'POST', '/v1/tools/approve', TOKENS.admin, { tool: 'weather/get_weather', reason: 'reviewed the new description' });
    expect(approved.status).toBe(200);
    expect(text(await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } }))).toBe('Sunny in Oslo');
    await client.close();
  });

  it('never pins a tool whose description hides instructions; the CLI approval unblocks it in the running gateway', async () => {
    const client = await connect(s, 'echo-agent');
    const refused = (await client.callTool({ name: 'get_news', arguments: {} })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/description of "get_news" reads like instructions to the model \(.*hidden_text.*\)/);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('get_news');
    const incidents = await api(s, 'GET', '/v1/incidents', TOKENS.admin);
    expect((incidents.json as unknown as Array<{ type: string }>).some((i) => i.type === 'tool_description_injection')).toBe(true);

    const { execFileSync } = await import('node:child_process');
    const listed = JSON.parse(execFileSync(node, [CLI, 'tools', 'list', '--json', '--config', join(s.dir, 'warden.yaml')], { encoding: 'utf8' })) as Array<{ tool: string; status: string }>;
    expect(listed.find((p) => p.tool === 'weather/get_news')?.status).toBe('unapproved');
    execFileSync(node, [CLI, 'tools', 'approve', 'weather/get_news', '--local-admin', '--as', 'ada', '--config', join(s.dir, 'warden.yaml')], { encoding: 'utf8' });
    let result: CallToolResult | undefined;
    for (let i = 0; i < 100; i++) {
      result = (await client.callTool({ name: 'get_news', arguments: {} })) as CallToolResult;
      if (!result.isError) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text(result)).toBe('Nothing happened today.');
    await client.close();
  }, 40_000);

  it('answers malformed JSON-RPC, unknown methods and huge messages with JSON-RPC errors', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${s.server.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${s.keys['echo-agent']}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
    const malformed = await post('{"jsonrpc": "2.0", "method": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const huge = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(300_000) } }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: -32600 } });

    const client = await connect(s, 'echo-agent');
    await expect(client.request({ method: 'sampling/createMessage', params: {} } as never, (await import('zod')).z.any())).rejects.toMatchObject({ code: -32601 });
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'still up' } }))).toBe('Echo: still up');
    await client.close();

    const human = await fetch(`${s.server.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' }, body: '{}' });
    expect(human.status).toBe(403);
  });

  it('gives a clean error when the upstream crashes mid-call, stays up, and restarts the upstream', async () => {
    const client = await connect(s, 'echo-agent');
    const upstream = s.server.warden.mcp.upstream('everything')!;
    const pid = upstream.pid!;
    const call = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, undefined, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, 'SIGKILL');
    const result = (await call) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/could not complete this call: the tool failed: .*(closed|Connection)/i);
    // Warden itself answers, and brings the upstream back.
    let state = '';
    for (let i = 0; i < 100 && state !== 'ready'; i++) {
      const ready = await fetch(`${s.server.url}/readyz`);
      state = ((await ready.json()) as { upstreams: Array<{ name: string; state: string }> }).upstreams.find((u) => u.name === 'everything')!.state;
      if (state !== 'ready') await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('ready');
    expect(upstream.pid).not.toBe(pid);
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'back' } }))).toBe('Echo: back');
    await client.close();
  });
});

describe('the MCP gateway over stdio (`warden mcp`) and with a Streamable HTTP upstream', () => {
  let s: Setup;
  let everythingHttp: ReturnType<typeof import('node:child_process').spawn> | undefined;
  beforeAll(async () => {
    const { spawn } = await import('node:child_process');
    const port = 38_000 + Math.floor(Math.random() * 2_000);
    everythingHttp = spawn(node, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      everythingHttp!.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
      everythingHttp!.once('exit', (code) => reject(new Error(`server-everything exited with ${code}`)));
    });
    s = await start(`  - name: remote\n    http: { url: "http://127.0.0.1:${port}/mcp" }\n    prefix: true`);
  }, 60_000);
  afterAll(async () => {
    await s?.server.close();
    everythingHttp?.kill();
  });

  it('exposes a Streamable HTTP upstream under its prefix and calls it', async () => {
    const client = await connect(s, 'echo-agent');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'remote.echo'])); // prefix: true names every tool of "remote"
    expect(text(await client.callTool({ name: 'remote.echo', arguments: { message: 'via http' } }))).toBe('Echo: via http');
    const health = await api(s, 'GET', '/v1/tools', TOKENS.admin);
    expect(health.json.upstreams.find((u: { name: string }) => u.name === 'remote')).toMatchObject({ transport: 'http', state: 'ready' });
    await client.close();
  });

  it('serves the gateway on stdio for the configured agent', async () => {
    await s.server.close(); // one process at a time on the SQLite file's replay state
    const client = new Client({ name: 'desktop', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: node, args: [CLI, 'mcp', '--config', join(s.dir, 'warden.yaml')], stderr: 'pipe' }));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_text_file');
    expect(names).not.toContain('echo');
    const result = (await client.callTool({ name: 'read_text_file', arguments: { path: join(s.sandbox, 'allowed', 'hello.txt') } })) as CallToolResult;
    expect(text(result)).toContain('hello from the sandbox');
    const denied = (await client.callTool({ name: 'write_file', arguments: { path: join(s.sandbox, 'x.txt'), content: 'x' } })) as CallToolResult;
    expect(denied.isError).toBe(true);
    await client.close();
  }, 60_000);
});
