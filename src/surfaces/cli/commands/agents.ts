import { generateApiKey } from '../../../auth/credentials.js';
import type { AgentRecord } from '../../../store/records.js';
import { ServiceError } from '../../../services/errors.js';
import { noteIgnored, operatorMode, type OperatorOptions } from '../operator-mode.js';
// state.js and local-admin.js load all of Warden: imported where used, so a command that calls the
// gateway starts as fast as one that prints help.
import type { StoreSource } from '../state.js';
import { formatTable, nonBlank, oneLine } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

/** The agent ids warden.yaml accepts (config-schema `name`). */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export interface CreateKeyOptions {
  json?: boolean;
}

/**
 * `warden agents create-key <agent-id>`: a new API key, printed once, and the credential line
 * for warden.yaml. Only the hash goes into the config; Warden cannot show the key again.
 */
export async function agentsCreateKeyCommand(agentId: string, options: CreateKeyOptions): Promise<number> {
  if (!AGENT_ID.test(agentId)) throw new UsageError(`"${agentId}" is not a valid agent id (letters, digits and . _ : / -, starting with a letter or digit)`);
  const { key, keyId, hash } = generateApiKey();
  const credential = `{ key_id: ${keyId}, api_key_hash: "${hash}" }`;
  if (options.json) {
    console.log(JSON.stringify({ agentId, key, keyId, hash, credential }, null, 2));
  } else {
    console.log(`API key for ${agentId}:`);
    console.log('');
    console.log(`  ${key}`);
    console.log('');
    console.log(`Add this credential to agent "${agentId}" in warden.yaml (under credentials:):`);
    console.log('');
    console.log(`  - ${credential}`);
  }
  console.error('warning: the key is shown only once. Warden stores only its hash and cannot show it again; keep it in a secret store now.');
  return EXIT.ok;
}

export interface AgentsListOptions extends StoreSource {
  json?: boolean;
}

/** `warden agents list`: the agents Warden knows (from the config and registered at run time). */
export async function agentsListCommand(options: AgentsListOptions): Promise<number> {
  return (await import('../state.js')).withStore(options, async (store) => {
    const agents = await store.listAgents();
    if (options.json) {
      console.log(JSON.stringify(agents, null, 2));
      return EXIT.ok;
    }
    if (agents.length === 0) {
      console.log('no agents');
      return EXIT.ok;
    }
    const why = (a: AgentRecord) => (a.status === 'suspended' && a.statusReason ? oneLine(a.statusReason) : '');
    const rows = agents.map((a) => [a.id, a.status, a.trust, a.tenant ?? '-', a.roles.join(',') || '-', why(a)]);
    console.log(formatTable(['ID', 'STATUS', 'TRUST', 'TENANT', 'ROLES', 'SUSPENDED BECAUSE'], rows));
    return EXIT.ok;
  });
}

export interface StatusOptions extends OperatorOptions {
  reason?: string;
}

const STATUS_NEEDS = 'suspending and resuming agents needs a token with the admin role, for the agent\'s tenant';

/**
 * `warden agents suspend|resume <id>`: sets the agent's status in the store, where the pipeline
 * reads it on every call (a suspension outlives restarts), by an admin (through the gateway) or
 * the local admin; the decision log records who did it, and why.
 */
export async function agentsSetStatusCommand(status: AgentRecord['status'], id: string, options: StatusOptions): Promise<number> {
  const verb = status === 'suspended' ? 'suspend' : 'resume';
  const reason = status === 'suspended' ? nonBlank('--reason', options.reason) : (options.reason?.trim() ?? '');
  const mode = operatorMode(options, `agents ${verb} ${id}`);
  noteIgnored([[mode.kind === 'api' && options.as !== undefined, `--as is ignored over the API: the change is recorded as the person your token stands for`]]);
  const done = (previous: AgentRecord['status'] | undefined) =>
    console.log(`${status === 'suspended' ? 'suspended' : 'resumed'}: ${id}${previous === status ? ` (it was already ${status})` : ''}`);

  if (mode.kind === 'api') {
    const path = `/v1/agents/${encodeURIComponent(id)}`;
    // Read first only to say "it was already …"; the change itself is one request.
    const before = await mode.gateway.send<AgentRecord>('GET', path);
    const answer = await mode.gateway.send<AgentRecord>('POST', `${path}/${verb}`, { reason: reason || 'no reason given' });
    if (!answer.ok) return mode.gateway.refused(answer.problem, STATUS_NEEDS);
    done(before.ok ? before.body.status : undefined);
    return EXIT.ok;
  }
  const { withLocalAdmin } = await import('../local-admin.js');
  return withLocalAdmin(mode, `agents ${verb}`, async (warden, admin) => {
    let changed: Awaited<ReturnType<typeof warden.agents.setStatus>>;
    try {
      changed = await warden.agents.setStatus(admin, id, status, reason);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      console.error(`error: ${error.message}`);
      return EXIT.problems;
    }
    done(changed.previous);
    if (status === 'active' && warden.config.agents.some((a) => a.id === id && a.status === 'suspended')) {
      console.error(`warning: ${warden.config.file} lists ${id} with status: suspended, which suspends it again when Warden next starts`);
    }
    return EXIT.ok;
  }, { upstreams: false });
}
