import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateApiKey } from '../../../auth/credentials.js';
import { EXIT } from '../usage-error.js';

const POLICY = `# A first policy. Policies are YAML files in this folder; CEL conditions; deny by default.
# Reference: the README's "The policy language". Check with: warden check policies
id: starter
version: 1
owner: you
description: What my-agent may do.
rules:
  - id: read-own-tenant
    effect: allow
    actions: [tool.call]
    tools: [lookup_*]
    when: "'reader' in agent.roles"
    reason: "readers may look things up"
    obligations:
      - redact: ["result.items[*].email"]
  - id: big-writes-need-a-human
    effect: require_approval
    tools: [update_record]
    when: "has(args.count) && args.count > 10"
    reason: "changing more than 10 records needs a supervisor"
    approval: { approvers: ["role:supervisor"], quorum: 1, expires: 1h }
  - id: small-writes
    effect: allow
    tools: [update_record]
    when: "trust_at_least('medium') && has(args.count) && args.count <= 10"
`;

const TESTS = `# Scenarios that pin down what the policies decide. Run: warden test policies
suite: starter
defaults:
  request:
    tenant: my-company
    actor: { agent: { id: my-agent, roles: [reader], trust: medium } }
    action: tool.call
    resource: { type: tool, id: lookup_customer }
cases:
  - name: a reader looks up a customer
    expect: { effect: allow, rule: read-own-tenant }
  - name: an agent without the reader role cannot
    request: { actor: { agent: { roles: [] } } }
    expect: { effect: deny, reason: "no rule allowed this action" }
  - name: a large update waits for a supervisor
    request: { resource: { id: update_record }, args: { count: 50 } }
    expect: { effect: require_approval, rule: big-writes-need-a-human }
`;

function config(keyId: string, hash: string): string {
  return `# Warden configuration. Every field: the README's "Configuration". Relative paths resolve from here.
storage: sqlite:./warden.db        # the decision log and all state, in one file
policies: ./policies

server: { host: 127.0.0.1, port: 8080 }

secrets:
  providers:
    - { type: env, prefix: WARDEN_SECRET_ }   # \${secret:crm_token} reads $WARDEN_SECRET_CRM_TOKEN
    - { type: file, dir: ./secrets }          # …or the file ./secrets/crm_token

agents:
  - id: my-agent
    roles: [reader]
    tenant: my-company
    trust: medium
    credentials:
      - { key_id: ${keyId}, api_key_hash: "${hash}" }

# People who approve and administer. Create a token, store its hash here:
#   node -e "const t=require('crypto').randomBytes(24).toString('base64url');console.log(t, 'sha256:'+require('crypto').createHash('sha256').update(t).digest('hex'))"
humans:
  tokens: []

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
    # where the tool runs; \${secret:…} is resolved only when the call is made
    http: { url: "http://127.0.0.1:9000/lookup_customer", headers: { authorization: "Bearer \${secret:crm_token}" } }
  - name: update_record
    effect: write
    risk: medium
    input_schema:
      type: object
      required: [count]
      properties: { count: { type: integer, minimum: 1 } }
    http: { url: "http://127.0.0.1:9000/update_record", headers: { authorization: "Bearer \${secret:crm_token}" } }

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

/** `warden init [dir]`: a commented starter config, a policy and its tests. Never overwrites. */
export async function initCommand(dir = '.', options: { force?: boolean } = {}): Promise<number> {
  const root = resolve(dir);
  const key = generateApiKey();
  const files: Record<string, string> = {
    'warden.yaml': config(key.keyId, key.hash),
    'policies/starter.yaml': POLICY,
    'policies/starter.test.yaml': TESTS,
    'secrets/.gitignore': '*\n!.gitignore\n',
  };
  const existing = Object.keys(files).filter((f) => existsSync(join(root, f)));
  if (existing.length && !options.force) {
    console.error(`error: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${root}; nothing was written (use --force to overwrite)`);
    return EXIT.problems;
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  console.log(`Wrote ${Object.keys(files).join(', ')} in ${root}

The API key of my-agent (shown once; its hash is in warden.yaml):
  ${key.key}

Next:
  warden check ${join(dir, 'policies')}
  warden test ${join(dir, 'policies')}
  warden serve --config ${join(dir, 'warden.yaml')}`);
  return EXIT.ok;
}
