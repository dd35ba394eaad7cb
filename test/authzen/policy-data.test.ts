/**
 * Policy data: files in `data/` of the policy folder are `data.*` in conditions, part of the bundle
 * revision, checked by `warden check` (file and line), hot-reloaded by `warden serve` and listed by
 * /v1/policies. A key that is not there fails closed like any condition error.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { parseActionRequest, type ActionRequest } from '../../src/model/action-request.js';
import { decide } from '../../src/policy/decide.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import { checkCommand } from '../../src/surfaces/cli/commands/check.js';
import { serve } from '../../src/surfaces/http/serve.js';

const ROLES_POLICY = `id: todo
version: 1
rules:
  - id: editors-update
    effect: allow
    actions: [can_update_todo]
    when: "'editor' in data.users[user.id].roles"
  - id: banned
    effect: deny
    actions: [can_update_todo]
    when: "data.flags[resource.id].banned"
`;

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-data-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const request = (userId: string, resource = 't-1'): ActionRequest => {
  const parsed = parseActionRequest({ tenant: 'todo', actor: { agent: { id: 'pep:x' }, user: { id: userId, verified: true } }, action: 'can_update_todo', resource: { type: 'todo', id: resource } });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
};

async function load(files: Record<string, string>) {
  return loadPolicyFolder(folder(files), { builtIns: [] });
}

describe('data.* in conditions', () => {
  const files = {
    'todo.yaml': ROLES_POLICY,
    'data/users.yaml': 'morty: { roles: [editor] }\nbeth: { roles: [viewer] }\n',
    'data/flags.json': '{ "t-1": { "banned": false }, "t-9": { "banned": true } }',
  };

  it('a rule reading data.users[user.id].roles decides by the data', async () => {
    const { policySet, diagnostics } = await load(files);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const now = new Date('2026-12-01T12:00:00Z');
    expect(decide(policySet!, request('morty'), { now })).toMatchObject({ effect: 'allow', rule: 'editors-update' });
    expect(decide(policySet!, request('beth'), { now }).effect).toBe('deny');
    expect(decide(policySet!, request('morty', 't-9'), { now })).toMatchObject({ effect: 'deny', rule: 'banned' });
  });

  it('a missing key fails closed: no allow from an allow rule, a deny from a deny rule', async () => {
    const { policySet } = await load(files);
    const now = new Date('2026-12-01T12:00:00Z');
    // No such user: the allow rule's condition errors, so it does not allow.
    const stranger = decide(policySet!, request('mallory'), { now, explain: true });
    expect(stranger.effect).toBe('deny');
    expect(JSON.stringify(stranger.explanation)).toMatch(/no such key|not found|mallory/i);
    // No flags for this todo: the deny rule's condition errors, so it denies (an editor included).
    const unknownTodo = decide(policySet!, request('morty', 't-unknown'), { now });
    expect(unknownTodo).toMatchObject({ effect: 'deny', rule: 'banned' });
  });

  it('is part of the bundle revision: data changes it, the file format and file names do not', async () => {
    const a = (await load(files)).policySet!.bundle;
    const b = (await load({ ...files, 'data/users.yaml': 'morty: { roles: [editor, admin] }\nbeth: { roles: [viewer] }\n' })).policySet!.bundle;
    const asJson = (await load({ 'todo.yaml': ROLES_POLICY, 'data/users.json': '{"beth":{"roles":["viewer"]},"morty":{"roles":["editor"]}}', 'data/flags.json': files['data/flags.json'] })).policySet!.bundle;
    const noData = (await load({ 'todo.yaml': ROLES_POLICY })).policySet!;
    expect(b).not.toBe(a);
    expect(asJson).toBe(a);
    expect(noData.bundle).not.toBe(a);
    expect(noData.data.files).toEqual([]);
  });

  it('cannot be set by a request: `data` is not part of an ActionRequest', () => {
    const parsed = parseActionRequest({ tenant: 't', actor: { agent: { id: 'a' } }, action: 'x', resource: { type: 't', id: 'r' }, data: { users: {} } });
    expect(parsed.ok).toBe(false);
  });
});

describe('warden check', () => {
  let output: string[];
  const run = async (files: Record<string, string>) => {
    output = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line?: unknown) => void output.push(String(line)));
    try {
      return await checkCommand(folder(files), { defaultGuards: false });
    } finally {
      spy.mockRestore();
    }
  };
  afterEach(() => vi.restoreAllMocks());

  it('reports a malformed YAML data file with its file and line', async () => {
    const code = await run({ 'todo.yaml': ROLES_POLICY, 'data/users.yaml': 'morty:\n  roles: [editor\nbeth: { roles: [viewer] }\n' });
    expect(code).not.toBe(0);
    expect(output.join('\n')).toMatch(/data\/users\.yaml:[23]:\d+: error \[data\]/);
  });

  it('reports malformed JSON with its file and line', async () => {
    const code = await run({ 'todo.yaml': ROLES_POLICY, 'data/flags.json': '{\n  "t-1": { "banned": false },\n  "t-2": { banned: true }\n}\n' });
    expect(code).not.toBe(0);
    expect(output.join('\n')).toMatch(/data\/flags\.json:3:\d+: error \[data\] invalid JSON/);
  });

  it('refuses names a condition cannot write, a name given twice, and prototype keys', async () => {
    expect(await run({ 'todo.yaml': ROLES_POLICY, 'data/allowed-domains.yaml': '[a.com]' })).not.toBe(0);
    expect(output.join('\n')).toMatch(/allowed-domains\.yaml:1:1: error \[data\] "allowed-domains" cannot be a data name/);
    expect(await run({ 'todo.yaml': ROLES_POLICY, 'data/users.yaml': 'a: 1', 'data/users.json': '{"a": 1}' })).not.toBe(0);
    expect(output.join('\n')).toMatch(/data\.users is already defined/);
    expect(await run({ 'todo.yaml': ROLES_POLICY, 'data/users.json': '{"__proto__": {"roles": ["admin"]}}' })).not.toBe(0);
    expect(output.join('\n')).toMatch(/forbidden key "__proto__"/);
  });

  it('accepts good data and says what it loaded; data files are not read as policies', async () => {
    const code = await run({ 'todo.yaml': ROLES_POLICY, 'data/users.yaml': 'morty: { roles: [editor] }\n' });
    expect(output.join('\n')).toMatch(/ok: 1 policies, 2 rules, 0 test suites, data users \(1\); bundle/);
    expect(output.join('\n')).not.toMatch(/error/);
    expect(code).toBe(0);
  });
});

describe('warden serve', () => {
  it('hot-reloads a data file edit (new revision, new decisions), refuses a broken one, and lists the data', async () => {
    const token = 'data-admin-token-0123456789abc';
    const pep = 'data-pep-token-0123456789abcdef';
    const dir = folder({
      'policies/todo.yaml': ROLES_POLICY,
      'policies/data/users.yaml': 'morty: { roles: [viewer] }\n',
      'policies/data/flags.json': '{"t-1": {"banned": false}}',
      'warden.yaml': `storage: sqlite:./warden.db
policies: ./policies
guards: { default_policies: false }
decision_cache: { ttl: 0s }
server: { watch_policies: true }
humans: { tokens: [{ id: ada, token_hash: "${sha256(token)}", roles: [admin], tenant: "*" }] }
peps: [{ id: todo, tenants: [todo], token_hash: "${sha256(pep)}" }]
`,
    });
    const server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
    try {
      const ask = async () => {
        const r = await fetch(`${server.url}/access/v1/evaluation`, {
          method: 'POST',
          headers: { authorization: `Bearer ${pep}`, 'content-type': 'application/json' },
          body: JSON.stringify({ subject: { type: 'user', id: 'morty' }, action: { name: 'can_update_todo' }, resource: { type: 'todo', id: 't-1' } }),
        });
        return ((await r.json()) as { decision: boolean }).decision;
      };
      const first = server.warden.policySet.bundle;
      expect(await ask()).toBe(false);

      writeFileSync(join(dir, 'policies', 'data', 'users.yaml'), 'morty: { roles: [editor] }\n');
      await until(() => server.warden.policySet.bundle !== first);
      expect(await ask()).toBe(true);
      const second = server.warden.policySet.bundle;

      // A JSON data file is watched too.
      writeFileSync(join(dir, 'policies', 'data', 'flags.json'), '{"t-1": {"banned": true}}');
      await until(() => server.warden.policySet.bundle !== second);
      expect(await ask()).toBe(false);
      const third = server.warden.policySet.bundle;

      // A broken file is refused: the set in force keeps serving, and readiness says why.
      writeFileSync(join(dir, 'policies', 'data', 'flags.json'), '{"t-1": ');
      await until(() => !server.warden.policies.reloadStatus.ok);
      expect(server.warden.policySet.bundle).toBe(third);
      expect(JSON.stringify(server.warden.policies.reloadStatus)).toMatch(/flags\.json:1:\d+: error \[data\]/);
      expect(await ask()).toBe(false);

      const listing = (await (await fetch(`${server.url}/v1/policies`, { headers: { authorization: `Bearer ${token}` } })).json()) as { bundle: string; data: Array<{ name: string; file: string; entries: number }> };
      expect(listing.bundle).toBe(third);
      expect(listing.data.map((d) => [d.name, d.entries])).toEqual([
        ['flags', 1],
        ['users', 1],
      ]);
      expect(listing.data[1]!.file).toMatch(/policies\/data\/users\.yaml$/);
    } finally {
      await server.close();
    }
  });
});

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
