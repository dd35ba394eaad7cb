import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { generateApiKey, sha256 } from '../../../auth/credentials.js';
import { EXIT, UsageError } from '../usage-error.js';
import { ADMIN_ID, AGENT_ID, config, GITIGNORE, POLICY, POLICY_TESTS, SECRETS_GITIGNORE, toolServer } from './init-starter.js';

export interface InitOptions {
  force?: boolean;
  /** Where `warden serve` will listen (default 8080). */
  port?: string;
  /** Where the example tool server will listen (default 9000). */
  toolPort?: string;
}

function portOption(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new UsageError(`${flag} must be a port number 1-65535, not "${value}"`);
  return port;
}

/** How the user ran this CLI, so that every command of the checklist works when pasted. */
function cliCommand(): string {
  const script = process.argv[1] ?? 'warden';
  if (basename(script) === 'warden') return 'warden';
  return `node ${shellQuote(isAbsolute(script) ? script : resolve(script))}`;
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * `warden init [dir]`: a starter that runs as is — warden.yaml on SQLite, a policy with its
 * tests, an example tool server and its secret, an agent API key and an admin token (printed
 * once; only their hashes are written) — and a checklist whose commands all work when pasted.
 * Refuses a folder that is not empty unless --force (then only the starter's files are replaced).
 */
export async function initCommand(dir = '.', options: InitOptions = {}): Promise<number> {
  const port = portOption(options.port, 8080, '--port');
  const toolPort = portOption(options.toolPort, 9000, '--tool-port');
  if (port === toolPort) throw new UsageError(`--port and --tool-port must differ (both ${port})`);
  const root = resolve(dir);
  if (existsSync(root) && !statSync(root).isDirectory()) {
    console.error(`error: ${root} exists and is not a folder; nothing was written`);
    return EXIT.problems;
  }
  const present = existsSync(root) ? readdirSync(root) : [];
  if (present.length && !options.force) {
    const shown = present.slice(0, 5).join(', ') + (present.length > 5 ? `, … (${present.length} entries)` : '');
    console.error(`error: ${root} is not empty (${shown}); nothing was written. Use an empty folder, or --force to write the starter's files over these`);
    return EXIT.problems;
  }

  const key = generateApiKey();
  const adminToken = randomBytes(24).toString('base64url');
  const toolsToken = randomBytes(24).toString('base64url');
  const files: Record<string, string> = {
    'warden.yaml': config({ port, toolPort, agentKeyId: key.keyId, agentKeyHash: key.hash, adminTokenHash: sha256(adminToken) }),
    'policies/starter.yaml': POLICY,
    'policies/starter.test.yaml': POLICY_TESTS,
    'tools/tool-server.mjs': toolServer(toolPort),
    'secrets/tools_token': `${toolsToken}\n`,
    'secrets/.gitignore': SECRETS_GITIGNORE,
    '.gitignore': GITIGNORE,
  };
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    }
    chmodSync(join(root, 'secrets'), 0o700);
    chmodSync(join(root, 'secrets/tools_token'), 0o600);
  } catch (error) {
    console.error(`error: cannot write the starter in ${root}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return EXIT.problems;
  }
  console.log(checklist({ root, port, toolPort, apiKey: key.key, adminToken, cli: cliCommand() }));
  return EXIT.ok;
}

function checklist(c: { root: string; port: number; toolPort: number; apiKey: string; adminToken: string; cli: string }): string {
  const base = `http://127.0.0.1:${c.port}`;
  const call = (id: string, tool: string, args: string) =>
    `curl -s ${base}/v1/tools/call -H "authorization: Bearer $WARDEN_AGENT_KEY" -H 'content-type: application/json' \\\n    -d '{"agent_id":"${AGENT_ID}","request_id":"${id}-'$RANDOM$RANDOM'","tool":"${tool}","arguments":${args}}'`;
  const status = ` -w ' → HTTP %{http_code}\\n'`;
  const here = relative(process.cwd(), c.root);
  const where = here === '' ? '.' : here.startsWith('..') || isAbsolute(here) ? c.root : here;
  return `Wrote a Warden starter in ${c.root}:
  warden.yaml                  the configuration: SQLite, port ${c.port}, agent ${AGENT_ID}, person ${ADMIN_ID}, three tools
  policies/starter.yaml        allow, require_approval and deny rules; policies/starter.test.yaml tests them
  tools/tool-server.mjs        the example tools (HTTP on 127.0.0.1:${c.toolPort}, no dependencies)
  secrets/tools_token          a random secret Warden sends the tools, which accept nothing else
  .gitignore, secrets/.gitignore   keep warden.db, logs and secrets out of git

Shown once, now: only their SHA-256 is in warden.yaml. Keep them somewhere safe.
  API key of agent ${AGENT_ID}:   ${c.apiKey}
  Token of person ${ADMIN_ID} (roles admin, approver, supervisor; the dashboard and approvals):   ${c.adminToken}

Secrets: a tool's URL or headers say \${secret:tools_token}; Warden resolves it only when it calls
the tool, from $WARDEN_SECRET_TOOLS_TOKEN if set, else from the file secrets/tools_token. Agents,
decisions and the log never see the value. Add your own the same way (README "Configuration").

Next steps. Paste them into bash or zsh, in this order:

  # 1. Keep the key and the token in this shell:
  cd ${shellQuote(where)}
  export WARDEN_AGENT_KEY='${c.apiKey}'
  export WARDEN_TOKEN='${c.adminToken}'

  # 2. The policies load, and their tests pass:
  ${c.cli} check policies
  ${c.cli} test policies

  # 3. Start the example tools and Warden (in the background here; or in two terminals, without the &):
  node tools/tool-server.mjs &
  ${c.cli} serve --config warden.yaml > warden.log 2>&1 &
  curl -s --retry 30 --retry-connrefused --retry-delay 1 ${base}/readyz${status}

  # 4. An allowed call: the tool's answer, the e-mail masked by the policy (HTTP 200):
  ${call('lookup', 'lookup_customer', '{"customer_id":"c-1"}')}${status}

  # 5. A denied call (HTTP 403, with the rule and its reason):
  ${call('delete', 'delete_customer', '{"customer_id":"c-1"}')}${status}

  # 6. A held call (HTTP 202, an approval id); the admin approves it over HTTP, which runs it once:
  APPROVAL=$(${call('update', 'update_record', '{"count":50}')} | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).approval_id')
  echo "$APPROVAL"
  curl -s ${base}/v1/approvals/$APPROVAL -H "authorization: Bearer $WARDEN_TOKEN"${status}
  curl -s -X POST ${base}/v1/approvals/$APPROVAL/approve -H "authorization: Bearer $WARDEN_TOKEN" -H 'content-type: application/json' -d '{"reason":"checked"}'${status}

  # 7. The agent repeats the same call: it gets the stored result, and the tool does not run again:
  ${call('update', 'update_record', '{"count":50}')}${status}
  curl -s http://127.0.0.1:${c.toolPort}/calls${status}

  # 8. The decision log, and its hash chain:
  curl -s '${base}/v1/audit?limit=5' -H "authorization: Bearer $WARDEN_TOKEN"${status}
  ${c.cli} audit verify --config warden.yaml

  # 9. The dashboard: open ${base}/ in a browser and sign in with the token of ${ADMIN_ID} ($WARDEN_TOKEN).
  curl -s -o /dev/null ${base}/${status}

  # 10. Stop both (started with & in step 3):
  kill %1 %2

Then: edit policies/starter.yaml (Warden reloads it), point the tools at your own services in
warden.yaml, and connect an agent: the README's "HTTP API", "MCP gateway" and "TypeScript SDK".`;
}
