/**
 * The files `warden init` writes: a config on SQLite, a policy and its tests, an example tool
 * server with no dependencies, and its secret. Credentials appear here only as hashes; the
 * secret's value is written to a git-ignored file.
 */

export interface StarterSettings {
  /** Where `warden serve` listens. */
  port: number;
  /** Where the example tool server listens (127.0.0.1). */
  toolPort: number;
  agentKeyId: string;
  agentKeyHash: string;
  adminTokenHash: string;
}

export const AGENT_ID = 'my-agent';
export const TENANT = 'my-company';
export const ADMIN_ID = 'admin';

export const POLICY = `# The starter policy. Policies are YAML files in this folder (one per file), decided with CEL
# conditions; anything no rule allows is denied. Reference: the README's "The policy language".
# Check with: warden check policies     Test with: warden test policies
# Saved while \`warden serve\` runs: in force within a second (an invalid change is refused and logged).
id: starter
version: 1
owner: you
description: What my-agent may do with the example tools.
rules:
  # allow: readers look customers up; the e-mail address is masked in what the agent gets back.
  - id: readers-look-up-customers
    effect: allow
    tools: [lookup_customer]
    when: "'reader' in agent.roles"
    reason: "readers may look customers up"
    obligations:
      - redact: ["result.customer.email"]

  # allow: small updates run at once.
  - id: small-updates
    effect: allow
    tools: [update_record]
    when: "trust_at_least('medium') && args.count <= 10"
    reason: "updates of up to 10 records run at once"

  # require_approval: larger updates wait for a person with the supervisor role.
  - id: large-updates-need-a-supervisor
    effect: require_approval
    tools: [update_record]
    when: "args.count > 10"
    reason: "updating more than 10 records needs a supervisor"
    approval: { approvers: ["role:supervisor"], quorum: 1, expires: 1h }

  # deny: never, whatever else allows it (a deny always wins).
  - id: agents-never-delete-customers
    effect: deny
    tools: [delete_customer]
    reason: "agents never delete customers; ask a person"
`;

export const POLICY_TESTS = `# What the starter policy must decide. Run: warden test policies
suite: starter
defaults:
  request:
    tenant: ${TENANT}
    actor: { agent: { id: ${AGENT_ID}, roles: [reader], trust: medium } }
    action: tool.call
    resource: { type: tool, id: lookup_customer }
cases:
  - name: a reader looks a customer up
    request: { args: { customer_id: c-1 } }
    expect: { effect: allow, rule: readers-look-up-customers, obligations: [{ redact: ["result.customer.email"] }] }
  - name: an agent without the reader role cannot
    request: { actor: { agent: { roles: [] } }, args: { customer_id: c-1 } }
    expect: { effect: deny, reason: "no rule allowed this action" }
  - name: a small update runs at once
    request: { resource: { id: update_record }, args: { count: 3 } }
    expect: { effect: allow, rule: small-updates }
  - name: a large update waits for a supervisor
    request: { resource: { id: update_record }, args: { count: 50 } }
    expect: { effect: require_approval, rule: large-updates-need-a-supervisor }
  - name: deleting a customer is denied
    request: { resource: { id: delete_customer }, args: { customer_id: c-1 } }
    expect: { effect: deny, rule: agents-never-delete-customers }
`;

export function config(s: StarterSettings): string {
  const tool = (name: string) => `http: { url: "http://127.0.0.1:${s.toolPort}/${name}", headers: { authorization: "Bearer \${secret:tools_token}" } }`;
  return `# Warden configuration, written by \`warden init\`. Every field: the README's "Configuration".
# Relative paths resolve from this file.
storage: sqlite:./warden.db        # the decision log and all state, in one file (git-ignored)
policies: ./policies

server: { host: 127.0.0.1, port: ${s.port} }

# Where \${secret:…} values come from, resolved only when a tool is called (never logged, never
# sent to agents): the environment first (\${secret:tools_token} reads $WARDEN_SECRET_TOOLS_TOKEN),
# then the file ./secrets/tools_token. \`warden init\` wrote that file with a random value;
# the secrets folder is git-ignored.
secrets:
  providers:
    - { type: env, prefix: WARDEN_SECRET_ }
    - { type: file, dir: ./secrets }

# Agents. Only the SHA-256 of each API key is stored; \`warden init\` printed the key once.
# Another key: warden agents create-key ${AGENT_ID}
agents:
  - id: ${AGENT_ID}
    roles: [reader]
    tenant: ${TENANT}
    trust: medium
    credentials:
      - { key_id: ${s.agentKeyId}, api_key_hash: "${s.agentKeyHash}" }

# People: they sign in to the dashboard and approve over HTTP with their bearer token. Only its
# SHA-256 is stored; \`warden init\` printed the token once. Another one:
#   node -e "const c=require('crypto'),t=c.randomBytes(24).toString('base64url');console.log(t,'sha256:'+c.createHash('sha256').update(t).digest('hex'))"
humans:
  tokens:
    - { id: ${ADMIN_ID}, token_hash: "${s.adminTokenHash}", roles: [admin, approver, supervisor], tenant: "*" }

# The tools agents may call (anything not listed is refused) and where they run: the example tool
# server (node tools/tool-server.mjs). Warden adds the bearer secret when it calls them.
tools:
  - name: lookup_customer
    description: Find a customer by id.
    effect: read
    risk: low
    input_schema:
      type: object
      required: [customer_id]
      properties: { customer_id: { type: string } }
      additionalProperties: false
    ${tool('lookup_customer')}
  - name: update_record
    description: Update a number of records.
    effect: write
    risk: medium
    input_schema:
      type: object
      required: [count]
      properties: { count: { type: integer, minimum: 1 } }
      additionalProperties: false
    ${tool('update_record')}
  - name: delete_customer
    description: Delete a customer.
    effect: destructive
    risk: high
    input_schema:
      type: object
      required: [customer_id]
      properties: { customer_id: { type: string } }
      additionalProperties: false
    ${tool('delete_customer')}

limits:
  rate:
    - { scope: agent, limit: 600, window: 1m }
  session: { max_calls: 200 }

# Signed checkpoints make removing the newest records, rewriting the chain or emptying the log
# provable (\`warden audit verify --anchor …\`). Create the key with: warden keys generate --out ./keys
# audit:
#   checkpoints:
#     key: ./keys/checkpoint-signing.key     # or \${secret:checkpoint_key}
#     every: 1000                            # records
#     interval: 60s
#     anchor: { type: file, path: /var/log/warden/anchor.jsonl }   # somewhere the database's writers cannot rewrite
`;
}

export function toolServer(toolPort: number): string {
  return `#!/usr/bin/env node
/**
 * The starter's example tools, served over HTTP on 127.0.0.1: what Warden calls when it executes a
 * tool (warden.yaml, tools[].http). No dependencies. Replace it with your own service.
 *
 *   node tools/tool-server.mjs [port]        (default ${toolPort}; or TOOL_PORT=…)
 *
 * A different port? Change the tools' URLs in warden.yaml too.
 * Warden sends "authorization: Bearer <secret tools_token>"; this server accepts nothing else, so
 * only Warden can call it. The token is $WARDEN_SECRET_TOOLS_TOKEN or ../secrets/tools_token.
 * GET /calls lists the calls it ran (to see that an approved call ran exactly once).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env.TOOL_PORT ?? ${toolPort});
const token = process.env.WARDEN_SECRET_TOOLS_TOKEN ?? readFileSync(new URL('../secrets/tools_token', import.meta.url), 'utf8').trim();

const customers = {
  'c-1': { id: 'c-1', name: 'Ada Lovelace', email: 'ada@example.com', plan: 'gold' },
  'c-2': { id: 'c-2', name: 'Alan Turing', email: 'alan@example.com', plan: 'basic' },
};
const tools = {
  lookup_customer: ({ customer_id }) => ({ customer: customers[customer_id] ?? null }),
  update_record: ({ count }) => ({ updated: count }),
  delete_customer: ({ customer_id }) => ({ deleted: customer_id }),
};
const calls = [];

const server = createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const name = new URL(req.url ?? '/', 'http://localhost').pathname.slice(1);
  if (req.method === 'GET' && name === 'calls') return send(200, { calls });
  if (req.method !== 'POST' || !Object.hasOwn(tools, name)) return send(404, { error: \`no tool "\${name}"\` });
  if (req.headers.authorization !== \`Bearer \${token}\`) return send(401, { error: 'only Warden may call these tools' });
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    try {
      const args = body ? JSON.parse(body) : {};
      calls.push({ tool: name, args, request_id: req.headers['x-warden-request-id'] ?? null, at: new Date().toISOString() });
      send(200, tools[name](args));
    } catch (error) {
      send(400, { error: String(error.message ?? error) });
    }
  });
});
server.on('error', (error) => {
  console.error(\`example tools: cannot listen on 127.0.0.1:\${port}: \${error.code ?? error.message}\`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(\`example tools: listening on http://127.0.0.1:\${server.address().port}\`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
`;
}

export const GITIGNORE = `# Written by warden init: state and secrets stay out of version control.
warden.db
warden.db-*
warden.log
secrets/
`;

export const SECRETS_GITIGNORE = `# Secrets never enter version control.
*
!.gitignore
`;
