import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ActionRequest } from '../../model/action-request.js';
import type { Decision } from '../../model/decision.js';
import type { JsonObject } from '../../model/json.js';
import { TRUST_LEVELS } from '../../model/trust.js';
import { auditRecord } from '../../enforcement/audit-record.js';
import { Ending, type Exchange } from '../../enforcement/exchange.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { checkArguments } from '../../enforcement/stages/check-arguments.js';
import { spendOf } from '../../enforcement/stages/limits.js';
import { guardTenant } from '../../enforcement/stages/tenant-guard.js';
import { compilePolicies } from '../../policy/compile.js';
import { formatDiagnostic, type Diagnostic } from '../../lib/diagnostic.js';
import { durationMs } from '../../lib/duration.js';
import { MAX_POLICY_FILE_BYTES, readPolicyFolder } from '../../policy/load.js';
import { registerAgent } from '../../services/agents.js';
import { hasRole, type Human, type Principal } from '../../auth/principal.js';
import { queryInstant } from '../http/routes/audit.js';
import { complianceStatus } from '../http/routes/compliance.js';
import { reportIncident } from '../../enforcement/incidents.js';
import type { AgentRecord, DecisionRecord } from '../../store/records.js';
import type { Warden } from '../../services/warden.js';
import { GUARD_POLICY_IDS } from '../../guards/default-policies.js';

/**
 * The governance MCP server: the tools agents call to check themselves against Warden (and that
 * admins use to manage it), backed by the same pipeline, policies and store as every other
 * surface. One server per connection; `caller` is who is connected.
 *
 * Who may do what:
 * - validate_action: an agent about itself; an admin about any agent (of its tenant) via agent_id.
 * - register_agent: admins only.
 * - create_policy: admins of every tenant (tenant `*`) only; policies apply to all tenants.
 * - get_audit_log: an agent reads its own records; viewers, approvers and admins read their tenant's.
 * - get_compliance_status: viewers and up get the full status; an agent gets a reduced view (the
 *   overall status, the bundle, and its own decision and denial counts).
 * - report_incident: an agent about itself; approvers and admins about any agent of their tenant.
 */
export interface GovernanceServerOptions {
  /**
   * Reloads the policy folder after create_policy wrote a file. Defaults to `warden.reloadPolicies`;
   * the HTTP surface passes its own so reloads are logged like the API's and the watcher's.
   */
  reloadPolicies?: (why: string) => ReturnType<Warden['reloadPolicies']>;
}

export const GOVERNANCE_TOOLS = ['validate_action', 'register_agent', 'create_policy', 'get_audit_log', 'get_compliance_status', 'report_incident'] as const;

/** A refusal the caller should read: it becomes a tool error (`isError: true`), not a crash. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
/** create_policy calls in one process are serialised per policy folder: compile, write, reload. */
const policyWrites = new KeyedMutex();

/** "missing required field at tool" rather than "expected string, received undefined at tool". */
const requiredError = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'missing required field' : `expected ${what}`) });
const id = z.string(requiredError('a string')).min(1).max(512);
const jsonObject = z.record(z.string(), z.unknown());

const validateActionInput = z.strictObject({
  tool: id.describe('The tool the agent wants to call, by its name in the Warden tool registry (e.g. issue_refund).'),
  arguments: jsonObject.optional().describe('The arguments it would pass, as a JSON object. Checked against the tool\'s input schema exactly as a real call would be.'),
  context: jsonObject.optional().describe('Facts policies may look at: workflowState, risk, environment, userPrompt…'),
  session_id: id.optional().describe('The run or thread the call belongs to; its budgets and recent calls are taken into account (read only).'),
  user: z
    .strictObject({ id: id.describe('Who the agent acts for.'), roles: z.array(z.string().min(1).max(256)).max(64).optional().describe('That user\'s roles.') })
    .optional()
    .describe('The user on whose behalf the agent acts, if any.'),
  tenant: id.optional().describe('Only for agents not bound to a tenant: the tenant to act in. An agent bound to a tenant cannot name another.'),
  agent_id: id.optional().describe('Admins only: the agent to ask about. Agents always ask about themselves.'),
});

const registerAgentInput = z.strictObject({
  id: z.string(requiredError('a string')).regex(AGENT_ID, 'an agent id is 1-128 characters: letters, digits and . _ : / -, starting with a letter or digit').describe('The new agent\'s id.'),
  roles: z.array(z.string().min(1).max(256)).max(64).optional().describe('Its roles, as policies see them in agent.roles.'),
  tenant: z.string().min(1).max(512).optional().describe('The tenant it is bound to (required for admins bound to one tenant).'),
  trust: z.enum(TRUST_LEVELS).optional().describe('Its trust level; new agents start at low unless set here.'),
});

const createPolicyInput = z.strictObject({
  id: z
    .string(requiredError('a string'))
    .regex(POLICY_ID, 'a policy id is 1-128 characters: letters, digits and . _ -, starting with a letter or digit')
    .describe('The policy id; the file written is <policies folder>/<id>.yaml and the YAML must say `id: <id>`.'),
  yaml: z.string(requiredError('a string')).min(1).max(MAX_POLICY_FILE_BYTES).describe('The policy document (Warden policy YAML: id, version, rules…).'),
  replace: z.boolean().optional().describe('Overwrite an existing <id>.yaml (default false: an existing file is refused).'),
});

const auditLogInput = z.strictObject({
  agent: id.optional().describe('Only this agent (agents may only name themselves).'),
  tool: id.optional().describe('Only this tool (resource id).'),
  effect: z.enum(['allow', 'deny', 'require_approval']).optional().describe('Only this effect.'),
  since: z.string().min(1).max(64).optional().describe('ISO 8601 date-time, or a duration back from now such as 15m or 24h.'),
  until: z.string().min(1).max(64).optional().describe('ISO 8601 date-time, or a duration back from now.'),
  session_id: id.optional().describe('Only this session.'),
  tenant: id.optional().describe('People of every tenant only: narrow to one tenant.'),
  limit: z.number().int().min(1).max(1000).optional().describe('How many records, newest first (default 50, at most 1000).'),
});

const complianceInput = z.strictObject({});

const incidentInput = z.strictObject({
  agent_id: id.optional().describe('The agent the incident is about. Agents may omit it (it defaults to themselves) and may not name another agent.'),
  type: z.string(requiredError('a string')).min(1).max(128).describe('A short category: prompt_injection, data_exfiltration, policy_bypass…'),
  severity: z.enum(['low', 'medium', 'high', 'critical'], requiredError('one of low, medium, high, critical')).describe('critical suspends the agent when the config says so (incidents.suspend_on_critical).'),
  description: z.string(requiredError('a string')).min(1).max(10_000).describe('What happened. Secrets and personal data are redacted before it is stored.'),
  decision_id: id.optional().describe('The decision record (dec_…) the incident is about, if any.'),
});

export function createGovernanceServer(warden: Warden, caller: Principal | (() => Principal), options: GovernanceServerOptions = {}): McpServer {
  const rt = warden.pipeline.rt;
  const store = warden.store;
  const who = (): Principal => (typeof caller === 'function' ? caller() : caller);
  const reload = options.reloadPolicies ?? (() => warden.reloadPolicies());
  const server = new McpServer(
    { name: 'warden-governance', title: 'Warden governance', version: '0.1.0' },
    {
      instructions:
        'Warden enforces policy on every action an agent takes. Call validate_action before a tool call to learn whether it would be allowed, denied or held for a human, and why; nothing is executed. ' +
        'The other tools read the decision log and compliance status, report incidents, and (for admins) register agents and add policies.',
    },
  );

  /** A human with at least `role`, or a refusal that says why. */
  const requireHuman = (tool: string, role: 'viewer' | 'approver' | 'admin'): Human => {
    const principal = who();
    if (principal.kind === 'agent') throw new Refusal(`${tool} is for people (${role}s); agent "${principal.agentId}" cannot use it`);
    if (!hasRole(principal, role)) throw new Refusal(`${principal.id} needs the ${role === 'admin' ? 'admin role' : `${role} or admin role`} for ${tool}`);
    return principal;
  };

  /** The agent a human may see: unknown and other tenants' agents look the same (no such agent). */
  const visibleAgent = async (human: Human, agentId: string): Promise<AgentRecord> => {
    const agent = await store.getAgent(agentId);
    if (!agent || (human.tenant !== '*' && agent.tenant !== human.tenant)) throw new Refusal(`no agent "${agentId}"`);
    return agent;
  };

  const register = <S extends z.ZodType>(name: (typeof GOVERNANCE_TOOLS)[number], title: string, description: string, inputSchema: S, annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean }, run: (input: z.output<S>) => Promise<CallToolResult>) => {
    server.registerTool(name, { title, description, inputSchema, annotations: { ...annotations, openWorldHint: false } }, (async (input: z.output<S>) => {
      try {
        return await run(input);
      } catch (error) {
        if (error instanceof Refusal) return toolError(error.message, error.data);
        const message = rt.redactor.redactText(error instanceof Error ? error.message : String(error));
        return toolError(`Warden could not complete ${name}: ${message}`);
      }
    }) as never);
  };

  register(
    'validate_action',
    'Check an action before taking it',
    'Dry run: asks Warden whether the connected agent may call a tool with these arguments, and returns the decision (effect allow, deny or require_approval; reason; deciding policy and rule; obligations; who must approve). ' +
      'Runs the same checks as a real call (registry, argument schema, tenant, session budget, policies) but executes nothing and consumes no rate limit. The decision is written to the decision log.',
    validateActionInput,
    { readOnlyHint: true, idempotentHint: true },
    async (input) => {
      const principal = who();
      let agentId: string;
      let agent: AgentRecord | undefined;
      if (principal.kind === 'agent') {
        if (input.agent_id !== undefined && input.agent_id !== principal.agentId) throw new Refusal(`an agent may only validate its own actions (connected as "${principal.agentId}"); agent_id is for admins`);
        agentId = principal.agentId;
        agent = await store.getAgent(agentId);
        if (!agent) throw new Refusal(`agent "${agentId}" is not registered`);
      } else {
        const human = requireHuman('validate_action', 'admin');
        if (!input.agent_id) throw new Refusal('agent_id is required: which agent should the action be checked for?');
        agentId = input.agent_id;
        agent = await visibleAgent(human, agentId);
      }
      const { decision, auditId } = await dryRun(warden, agent, input);
      const result = {
        executed: false,
        agent: agentId,
        tool: input.tool,
        effect: decision.effect,
        reason: decision.reason,
        policy: decision.policy,
        rule: decision.rule,
        policyVersion: decision.policyVersion,
        bundle: decision.bundle,
        ...(decision.stage ? { stage: decision.stage } : {}),
        obligations: decision.obligations,
        approval: decision.approval ?? null,
        advice: decision.advice,
        audit_id: auditId,
      };
      const verdict = decision.effect === 'allow' ? 'would be allowed' : decision.effect === 'deny' ? 'would be denied' : 'would be held for human approval';
      const approvers = decision.approval ? ` (approvers: ${decision.approval.approvers.join(', ')}, quorum ${decision.approval.quorum}, expires in ${decision.approval.expiresIn})` : '';
      return success(`${input.tool} for ${agentId} ${verdict}: ${decision.reason}${approvers}. Nothing was executed.`, result);
    },
  );

  register(
    'register_agent',
    'Register an agent (admins)',
    'Admins only. Registers a new agent with roles, tenant and trust level (default low) and returns its API key, which is shown this once. The registration is written to the decision log.',
    registerAgentInput,
    { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async (input) => {
      const principal = who();
      if (principal.kind === 'agent') throw new Refusal(`register_agent is for admins; agent "${principal.agentId}" cannot register agents`);
      const human = requireHuman('register_agent', 'admin');
      const registered = await registerAgent(warden, human, input, rt.clock());
      if (!registered.ok) throw new Refusal(registered.message);
      return success(`agent ${registered.agent.id} registered at trust ${registered.agent.trust}; its API key is shown once: store it now`, {
        agent: registered.agent,
        api_key: registered.apiKey,
        note: 'the API key is shown once; store it now',
      });
    },
  );

  register(
    'create_policy',
    'Add or replace a policy (admins)',
    'Admins of every tenant only. Validates a policy (together with the policies in force, so duplicate ids are caught) and, when it is valid, writes it to the policy folder as <id>.yaml and reloads. ' +
      'Problems are reported as file:line:column diagnostics and nothing is written. Returns the new bundle revision.',
    createPolicyInput,
    { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    async (input) => {
      const principal = who();
      if (principal.kind === 'agent') throw new Refusal(`create_policy is for admins; agent "${principal.agentId}" cannot change policies`);
      const human = requireHuman('create_policy', 'admin');
      if (human.tenant !== '*') throw new Refusal(`policies apply to every tenant: only an admin of all tenants (tenant *) may create them; ${human.id} acts for ${human.tenant}`);
      if (/\.test$/i.test(input.id)) throw new Refusal(`"${input.id}" would name a test suite (${input.id}.yaml); choose an id that does not end in .test`);
      const dir = warden.config.policiesDir;
      return policyWrites.run(resolve(dir), () => writePolicy(warden, human, dir, input, reload));
    },
  );

  register(
    'get_audit_log',
    'Read the decision log',
    'Decision records, newest first, already redacted. An agent sees only its own records; people with the viewer, approver or admin role see those of their tenant.',
    auditLogInput,
    { readOnlyHint: true, idempotentHint: true },
    async (input) => {
      const principal = who();
      const now = rt.clock();
      const since = queryInstant(input.since, now);
      const until = queryInstant(input.until, now);
      if (since === null) throw new Refusal('since must be an ISO 8601 date-time or a duration such as 24h');
      if (until === null) throw new Refusal('until must be an ISO 8601 date-time or a duration such as 1h');
      const limit = input.limit ?? 50;
      let records: DecisionRecord[];
      await rt.log.flush();
      if (principal.kind === 'agent') {
        if (input.agent !== undefined && input.agent !== principal.agentId) throw new Refusal(`an agent may only read its own records (connected as "${principal.agentId}")`);
        if (input.tenant !== undefined) throw new Refusal('tenant is for people of every tenant; an agent reads its own records');
        const query = { agentId: principal.agentId, tool: input.tool, effect: input.effect, sessionId: input.session_id, since, until, order: 'desc' as const };
        // Operator records (resource type "warden") are never an agent's own, whatever its id.
        records = (await store.queryDecisions({ ...query, limit: limit * 2 })).filter((r) => r.resourceType !== 'warden').slice(0, limit);
      } else {
        const human = requireHuman('get_audit_log', 'viewer');
        if (human.tenant !== '*' && input.tenant !== undefined && input.tenant !== human.tenant) throw new Refusal(`${human.id} may only read tenant ${human.tenant}`);
        const tenant = human.tenant === '*' ? input.tenant : human.tenant;
        records = await store.queryDecisions({ agentId: input.agent, tool: input.tool, effect: input.effect, tenant, sessionId: input.session_id, since, until, limit, order: 'desc' });
      }
      return success(`${records.length} decision record${records.length === 1 ? '' : 's'}, newest first`, { count: records.length, records });
    },
  );

  register(
    'get_compliance_status',
    'Compliance status',
    'What the decision log says about the compliance window: overall status (healthy, warning, critical), denial rate, top offenders, incidents, suspended agents, the policy bundle. ' +
      'People with the viewer role or above get all of it; an agent gets the overall status, the bundle, and its own decision and denial counts.',
    complianceInput,
    { readOnlyHint: true, idempotentHint: true },
    async () => {
      const principal = who();
      await rt.log.flush();
      const now = rt.clock();
      if (principal.kind === 'human') {
        requireHuman('get_compliance_status', 'viewer');
        const status = await complianceStatus(warden, now, principal.tenant);
        return success(`compliance status: ${status.status} (denial rate ${status.denialRate} over ${status.window})`, status as unknown as Record<string, unknown>);
      }
      const view = await agentCompliance(warden, principal.agentId, now);
      return success(`compliance status: ${view.status}; ${principal.agentId} had ${view.agent.decisions.deny} denial(s) in ${view.window}`, view);
    },
  );

  register(
    'report_incident',
    'Report an incident',
    'Records an incident about an agent (an agent reports about itself; approvers and admins about any agent of their tenant). A critical incident suspends the agent when the config says so.',
    incidentInput,
    { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    async (input) => {
      const principal = who();
      let agentId: string;
      let reportedBy: string;
      if (principal.kind === 'agent') {
        agentId = input.agent_id ?? principal.agentId;
        if (agentId !== principal.agentId) throw new Refusal(`an agent may only report incidents about itself (connected as "${principal.agentId}")`);
        if (!(await store.getAgent(agentId))) throw new Refusal(`agent "${agentId}" is not registered`);
        reportedBy = `agent:${principal.agentId}`;
      } else {
        const human = requireHuman('report_incident', 'approver');
        if (!input.agent_id) throw new Refusal('agent_id is required: which agent is the incident about?');
        agentId = input.agent_id;
        await visibleAgent(human, agentId);
        reportedBy = human.id;
      }
      if (input.decision_id !== undefined) {
        await rt.log.flush();
        const record = await store.getDecision(input.decision_id);
        if (!record || record.agentId !== agentId) throw new Refusal(`no decision record "${input.decision_id}" about agent ${agentId}`);
      }
      const result = await reportIncident(warden.pipeline, { agentId, type: input.type, severity: input.severity, description: input.description, decisionId: input.decision_id, reportedBy });
      const note = result.suspended ? `; agent ${agentId} is now suspended` : '';
      return success(`incident ${result.incident.id} (${result.incident.severity} ${result.incident.type}) recorded${note}`, result as unknown as Record<string, unknown>);
    },
  );

  return server;
}

// -----------------------------------------------------------------------------------------------

function success(summary: string, data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: summary }, { type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

function toolError(message: string, data?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true, ...(data ? { structuredContent: { error: message, ...data } } : {}) };
}

type ValidateActionInput = z.output<typeof validateActionInput>;

/**
 * The checks a real call goes through before the PDP (agent status, registry, arguments, tenant,
 * session), then the PDP through `warden.decide`, which logs the decision. A check that ends the
 * exchange early is logged as a deny from its stage, as the pipeline would.
 */
async function dryRun(warden: Warden, agent: AgentRecord, input: ValidateActionInput): Promise<{ decision: Decision; auditId: string | undefined }> {
  const rt = warden.pipeline.rt;
  const requestId = `req_${randomUUID()}`;
  const x: Exchange = {
    started: process.hrtime.bigint(),
    now: rt.clock(),
    call: {
      agentId: agent.id,
      requestId,
      tool: input.tool,
      args: input.arguments ?? {},
      tenant: input.tenant,
      sessionId: input.session_id,
      user: input.user,
      context: input.context as JsonObject | undefined,
      action: 'tool.call',
    },
    requestId,
    agent,
    details: { dryRun: true, via: 'mcp:governance' },
  };
  try {
    if (agent.status === 'suspended') throw new Ending('agent', `agent "${agent.id}" is suspended${agent.statusReason ? `: ${agent.statusReason}` : ''}`, 403);
    checkArguments(x, rt);
    const tenant = guardTenant(x);
    const session = input.session_id ? await rt.store.getSession(input.session_id) : undefined;
    if (session) {
      if (session.tenant !== tenant) throw new Ending('tenant', `cross-tenant access: session ${session.id} belongs to tenant ${session.tenant}, not ${tenant}`, 403);
      const budget = rt.config.limits.session;
      const spend = spendOf(x);
      if (budget.max_calls !== undefined && session.callsUsed >= budget.max_calls) {
        throw new Ending('limits', `session budget exhausted: ${session.callsUsed} of ${budget.max_calls} tool calls used in session ${session.id}`, 429);
      }
      if (budget.max_spend !== undefined && spend > 0 && session.spend + spend > budget.max_spend) {
        throw new Ending('limits', `session spend budget exceeded: ${session.spend} spent + ${spend} requested > ${budget.max_spend} in session ${session.id}`, 429);
      }
    }
    const request: ActionRequest = {
      requestId,
      tenant,
      sessionId: input.session_id,
      actor: {
        agent: { id: agent.id, roles: agent.roles, trust: agent.trust, tenant: agent.tenant },
        user: input.user ? { id: input.user.id, roles: input.user.roles ?? [] } : undefined,
      },
      action: 'tool.call',
      resource: { type: 'tool', id: input.tool, tenant, attributes: {} },
      args: x.args!,
      context: (input.context ?? {}) as JsonObject,
      tool: x.tool!.entry,
      session: session && { callsUsed: session.callsUsed, spend: session.spend, tainted: session.tainted, recent: session.recent },
    };
    if (rt.policies.current.usesRelationships) {
      request.relationships = await rt.store.relationshipsOf([`agent:${agent.id}`, ...(input.user ? [`user:${input.user.id}`] : [])]);
    }
    const decided = await warden.decide(request);
    if (!decided.ok) throw new Ending('request', `invalid request: ${decided.errors.join('; ')}`, 400);
    return { decision: decided.decision, auditId: decided.auditId };
  } catch (error) {
    if (!(error instanceof Ending)) throw error;
    const decision: Decision = {
      requestId,
      effect: 'deny',
      reason: rt.redactor.redactText(error.reason),
      bundle: rt.policies.current.bundle,
      obligations: [],
      advice: [],
      matched: [],
      shadow: [],
      stage: error.stage,
    };
    Object.assign(x.details, error.details);
    let auditId: string | undefined;
    try {
      auditId = rt.log.append(auditRecord(x, decision, 'denied', rt.redactor)).id;
    } catch {
      auditId = undefined; // a log that refuses the record must not turn a deny into a crash
    }
    return { decision, auditId };
  }
}

/** The reduced compliance view an agent gets: the overall status and its own counts. */
async function agentCompliance(warden: Warden, agentId: string, now: number) {
  const full = await complianceStatus(warden, now);
  const since = now - durationMs(warden.config.compliance.window);
  const cap = 10_000;
  const records = (await warden.store.queryDecisions({ agentId, since, limit: cap, order: 'desc' })).filter((r) => r.kind === 'decision' && r.resourceType !== 'warden');
  const decisions = { total: records.length, allow: 0, deny: 0, require_approval: 0 };
  const deniedTools = new Map<string, number>();
  for (const r of records) {
    decisions[r.effect] += 1;
    if (r.effect === 'deny') deniedTools.set(r.resourceId, (deniedTools.get(r.resourceId) ?? 0) + 1);
  }
  const agent = await warden.store.getAgent(agentId);
  return {
    status: full.status,
    window: full.window,
    policyBundle: full.policyBundle.bundle,
    agent: {
      id: agentId,
      status: agent?.status ?? 'unknown',
      ...(agent?.statusReason ? { statusReason: agent.statusReason } : {}),
      decisions,
      denialRate: decisions.total === 0 ? 0 : Math.round((decisions.deny / decisions.total) * 10_000) / 10_000,
      deniedTools: [...deniedTools].map(([tool, count]) => ({ tool, count })).sort((a, b) => b.count - a.count).slice(0, 10),
      ...(records.length >= cap ? { truncated: true } : {}),
    },
  };
}

/** `path` as the policy loader names files: relative to the working directory when inside it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function diagnosticsData(diagnostics: readonly Diagnostic[]) {
  return diagnostics.map((d) => ({ ...d, text: formatDiagnostic(d) }));
}

async function writePolicy(
  warden: Warden,
  human: Human,
  dir: string,
  input: z.output<typeof createPolicyInput>,
  reload: (why: string) => ReturnType<Warden['reloadPolicies']>,
): Promise<CallToolResult> {
  const target = resolve(join(dir, `${input.id}.yaml`));
  const file = displayPath(target);
  const present = await exists(target);
  if (present && !input.replace) throw new Refusal(`${file} already exists; pass replace: true to overwrite policy ${input.id}`);

  const folder = await readPolicyFolder(dir);
  const folderProblems = folder.policies.length === 0 ? [] : folder.diagnostics;
  const sources = [...folder.policies.filter((p) => resolve(p.file) !== target), { file, text: input.yaml }];
  const { policySet, diagnostics } = compilePolicies(sources, { cautionOnly: GUARD_POLICY_IDS });
  const all = [...folderProblems, ...diagnostics];
  if (!policySet || all.some((d) => d.severity === 'error')) {
    const errors = all.filter((d) => d.severity === 'error');
    throw new Refusal(`policy ${input.id} is not valid; nothing was written:\n${errors.map(formatDiagnostic).join('\n')}`, { valid: false, written: false, diagnostics: diagnosticsData(all) });
  }
  const compiled = policySet.policies.find((p) => resolve(p.file) === target);
  if (!compiled) throw new Refusal(`policy ${input.id} did not compile; nothing was written`, { valid: false, written: false, diagnostics: diagnosticsData(all) });
  if (compiled.id !== input.id) {
    throw new Refusal(`the YAML says id: ${compiled.id}, but create_policy was asked for ${input.id}; they must match (the file is named for the policy)`, { valid: false, written: false });
  }

  const previous = present ? await readFile(target) : undefined;
  const previousBundle = warden.policySet.bundle;
  if (present) {
    // Replace atomically: a reader (the policy watcher) never sees a half-written file.
    const temp = join(dir, `.${input.id}.${randomUUID()}.tmp`);
    await writeFile(temp, input.yaml, { flag: 'wx' });
    try {
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  } else {
    try {
      await writeFile(target, input.yaml, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Refusal(`${file} already exists; pass replace: true to overwrite policy ${input.id}`);
      throw error;
    }
  }

  const reloaded = await reload(`policy ${input.id} ${present ? 'replaced' : 'created'} by ${human.id} (governance MCP)`);
  if (!reloaded.ok) {
    // Something else in the folder changed meanwhile; put it back as it was.
    if (previous !== undefined) await writeFile(target, previous);
    else await unlink(target).catch(() => undefined);
    throw new Refusal(`the policy folder did not reload, so policy ${input.id} was taken back out; the previous policies keep serving:\n${reloaded.diagnostics.map(formatDiagnostic).join('\n')}`, {
      valid: false,
      written: false,
      diagnostics: diagnosticsData(reloaded.diagnostics),
    });
  }
  await warden.pipeline.auditAdmin(`policy.${present ? 'replace' : 'create'}`, human.id, `policy ${input.id} v${compiled.version} ${present ? 'replaced' : 'created'} in ${file}; bundle ${reloaded.bundle}`, {
    policy: input.id,
    version: compiled.version,
    file,
    bundle: reloaded.bundle,
    previousBundle,
  });
  const warnings = all.filter((d) => d.severity === 'warning');
  return success(`policy ${input.id} v${compiled.version} ${present ? 'replaced' : 'created'} in ${file}; bundle ${reloaded.bundle} is in force`, {
    valid: true,
    written: true,
    policy: input.id,
    version: compiled.version,
    file,
    replaced: present,
    bundle: reloaded.bundle,
    previousBundle,
    warnings: diagnosticsData(warnings),
  });
}
