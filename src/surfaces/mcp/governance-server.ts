import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { principalName, type Principal } from '../../auth/principal.js';
import type { JsonObject } from '../../model/json.js';
import { TRUST_LEVELS } from '../../model/trust.js';
import { MAX_POLICY_FILE_BYTES } from '../../policy/load.js';
import { ServiceError } from '../../services/errors.js';
import type { Warden } from '../../services/warden.js';
import { mcpSpan } from './mcp-span.js';

/**
 * The governance MCP server: the tools agents call to check themselves against Warden (and that
 * admins use to manage it), backed by the same services as every other surface, which decide who
 * may do what. One server per connection; `caller` is who is connected.
 *
 * - validate_action: an agent about itself; an admin about any agent (of its tenant) via agent_id.
 * - register_agent: admins only.
 * - create_policy: admins of every tenant (tenant `*`) only; policies apply to all tenants.
 * - get_audit_log: an agent reads its own records; viewers, approvers and admins read their tenant's.
 * - get_compliance_status: viewers and up get the full status; an agent gets a reduced view (the
 *   overall status, the bundle, and its own decision and denial counts).
 * - report_incident: an agent about itself; approvers and admins about any agent of their tenant.
 */

export const GOVERNANCE_TOOLS = ['validate_action', 'register_agent', 'create_policy', 'get_audit_log', 'get_compliance_status', 'report_incident'] as const;

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

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

export function createGovernanceServer(warden: Warden, caller: Principal | (() => Principal)): McpServer {
  const who = (): Principal => (typeof caller === 'function' ? caller() : caller);
  const server = new McpServer(
    { name: 'warden-governance', title: 'Warden governance', version: '0.1.0' },
    {
      instructions:
        'Warden enforces policy on every action an agent takes. Call validate_action before a tool call to learn whether it would be allowed, denied or held for a human, and why; nothing is executed. ' +
        'The other tools read the decision log and compliance status, report incidents, and (for admins) register agents and add policies.',
    },
  );

  const register = <S extends z.ZodType>(name: (typeof GOVERNANCE_TOOLS)[number], title: string, description: string, inputSchema: S, annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean }, run: (input: z.output<S>, caller: Principal) => Promise<CallToolResult>) => {
    server.registerTool(name, { title, description, inputSchema, annotations: { ...annotations, openWorldHint: false } }, (async (input: z.output<S>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => {
      const principal = who();
      const caller = principal.kind === 'agent' ? { agentId: principal.agentId } : { principal: principalName(principal) };
      return mcpSpan({ method: 'tools/call', target: name, surface: 'governance', ...caller, requestId: extra.requestId, ...(extra._meta ? { meta: extra._meta } : {}) }, async () => {
        try {
          return await run(input, principal);
        } catch (error) {
          if (error instanceof ServiceError) return toolError(error.message, error.data);
          const message = warden.recorder.redactor.redactText(error instanceof Error ? error.message : String(error));
          return toolError(`Warden could not complete ${name}: ${message}`);
        }
      });
    }) as never);
  };

  register(
    'validate_action',
    'Check an action before taking it',
    'Dry run: asks Warden whether the connected agent may call a tool with these arguments, and returns the decision (effect allow, deny or require_approval; reason; deciding policy and rule; obligations; who must approve). ' +
      'Runs the stages of a real call (registry, argument schema, tenant, rate limits and session budget, the guards, policies, break-glass, obligations) but executes nothing, consumes no rate limit or budget and opens no approval. The decision is written to the decision log.',
    validateActionInput,
    { readOnlyHint: true, idempotentHint: true },
    async (input, principal) => {
      const run = await warden.decisions.validate(
        principal,
        {
          ...(input.agent_id !== undefined ? { agentId: input.agent_id } : {}),
          tool: input.tool,
          ...(input.arguments ? { arguments: input.arguments as JsonObject } : {}),
          ...(input.context ? { context: input.context as JsonObject } : {}),
          ...(input.session_id ? { sessionId: input.session_id } : {}),
          ...(input.tenant ? { tenant: input.tenant } : {}),
          ...(input.user ? { user: input.user } : {}),
        },
        'governance',
      );
      const decision = run.decision;
      const result = {
        executed: false,
        agent: run.agentId,
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
        audit_id: run.auditId,
      };
      const verdict = decision.effect === 'allow' ? 'would be allowed' : decision.effect === 'deny' ? 'would be denied' : 'would be held for human approval';
      const approvers = decision.approval ? ` (approvers: ${decision.approval.approvers.join(', ')}, quorum ${decision.approval.quorum}, expires in ${decision.approval.expiresIn})` : '';
      return success(`${input.tool} for ${run.agentId} ${verdict}: ${decision.reason}${approvers}. Nothing was executed.`, result);
    },
  );

  register(
    'register_agent',
    'Register an agent (admins)',
    'Admins only. Registers a new agent with roles, tenant and trust level (default low) and returns its API key, which is shown this once. The registration is written to the decision log.',
    registerAgentInput,
    { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async (input, principal) => {
      const registered = await warden.agents.register(principal, input);
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
    async (input, principal) => {
      const written = await warden.policies.create(principal, input);
      return success(`policy ${written.policy} v${written.version} ${written.replaced ? 'replaced' : 'created'} in ${written.file}; bundle ${written.bundle} is in force`, written);
    },
  );

  register(
    'get_audit_log',
    'Read the decision log',
    'Decision records, newest first, already redacted. An agent sees only its own records; people with the viewer, approver or admin role see those of their tenant.',
    auditLogInput,
    { readOnlyHint: true, idempotentHint: true },
    async (input, principal) => {
      const records = await warden.audit.query(principal, { agent: input.agent, tool: input.tool, effect: input.effect, tenant: input.tenant, session: input.session_id, since: input.since, until: input.until, limit: input.limit ?? 50 });
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
    async (_input, principal) => {
      const answer = await warden.compliance.forPrincipal(principal);
      if (answer.kind === 'full') {
        const status = answer.status;
        return success(`compliance status: ${status.status} (denial rate ${status.denialRate} over ${status.window})`, status as unknown as Record<string, unknown>);
      }
      const view = answer.view;
      return success(`compliance status: ${view.status}; ${view.agent.id} had ${view.agent.decisions.deny} denial(s) in ${view.window}`, view);
    },
  );

  register(
    'report_incident',
    'Report an incident',
    'Records an incident about an agent (an agent reports about itself; approvers and admins about any agent of their tenant). A critical incident suspends the agent when the config says so.',
    incidentInput,
    { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    async (input, principal) => {
      const result = await warden.incidents.report(principal, { agentId: input.agent_id, type: input.type, severity: input.severity, description: input.description, decisionId: input.decision_id });
      const note = result.suspended ? `; agent ${result.incident.agentId} is now suspended` : '';
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
