import type { ActionRequest, ToolEntry } from '../model/action-request.js';
import type { JsonObject } from '../model/json.js';
import type { AgentRecord, Relationship, SessionRecord } from '../store/records.js';
import { sessionView } from '../guards/sequence.js';

/** Everything an ActionRequest is made of, each from where Warden learnt it. */
export interface RequestFacts {
  requestId: string;
  traceId?: string;
  /** The tenant the tenant guard settled on. */
  tenant: string;
  sessionId?: string;
  /** The agent's registry record: roles, trust and tenant come from here, never from the caller. */
  agent: AgentRecord;
  /** The user as authentication established them (verified or not). */
  user?: { id: string; roles?: readonly string[]; tenant?: string; verified?: boolean };
  service?: { id: string };
  action: string;
  resourceId: string;
  args: JsonObject;
  context?: JsonObject;
  /** The registry entry of the tool, when there is one. */
  tool?: ToolEntry;
  /** The session as the call found it. */
  session?: SessionRecord;
  relationships?: Relationship[];
}

/**
 * The one place an ActionRequest is assembled, for every path that asks the PDP: a tool call, a
 * dry run, a list decision. What a policy can see is decided here and nowhere else.
 */
export function buildActionRequest(f: RequestFacts): ActionRequest {
  const agent = f.agent;
  return {
    requestId: f.requestId,
    ...(f.traceId ? { traceId: f.traceId } : {}),
    tenant: f.tenant,
    ...(f.sessionId ? { sessionId: f.sessionId } : {}),
    actor: {
      agent: { id: agent.id, roles: agent.roles, trust: agent.trust, tenant: agent.tenant },
      ...(f.user ? { user: { id: f.user.id, roles: [...(f.user.roles ?? [])], ...(f.user.tenant ? { tenant: f.user.tenant } : {}), verified: f.user.verified === true } } : {}),
      ...(f.service ? { service: f.service } : {}),
    },
    action: f.action,
    resource: { type: 'tool', id: f.resourceId, tenant: f.tenant, attributes: {} },
    args: f.args,
    context: f.context ?? {},
    ...(f.tool ? { tool: f.tool } : {}),
    ...(f.session ? { session: sessionView(f.session) } : {}),
    ...(f.relationships ? { relationships: f.relationships } : {}),
  };
}

/** The subjects whose relationships a request carries: the agent, and the user it acts for. */
export function relationshipSubjects(agentId: string, userId: string | undefined): string[] {
  return [`agent:${agentId}`, ...(userId ? [`user:${userId}`] : [])];
}
