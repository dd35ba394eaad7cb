import type { SessionState } from '../model/action-request.js';
import type { SessionFlow, SessionRecord } from '../store/records.js';

/**
 * The session's activity, kept up to date as calls happen (incremental: a sequence rule never
 * rescans the decision log). Policies read it through `session.recent`, `session.tools`,
 * `session.denials` and the CEL helpers `called_before`, `recent_count`, `denials_within`
 * (src/policy/cel-environment.ts).
 */

/** How many executed calls `session.recent` keeps. */
export const RECENT_LIMIT = 20;
/** How many distinct tool names `session.tools` keeps. */
export const TOOLS_LIMIT = 256;
/** How many denial instants `session.denials` keeps. */
export const DENIALS_LIMIT = 50;
/** How many sources of untrusted content / private reads are named. */
export const SOURCES_LIMIT = 20;

export function flowOf(session: SessionRecord | undefined): SessionFlow {
  const f = session?.flow;
  return {
    taint: f?.taint ?? [],
    untrusted: f?.untrusted ?? [],
    privateReads: f?.privateReads ?? [],
    tools: f?.tools ?? [],
    denials: f?.denials ?? [],
    ...(f?.trusted ? { trusted: f.trusted } : {}),
    ...(f?.injected ? { injected: f.injected } : {}),
  };
}

/** Appends to a bounded list (keeping the newest); a value already last is not repeated. */
export function pushBounded<T>(list: readonly T[], value: T, max: number, distinct = false): T[] {
  if (distinct && list.includes(value)) return [...list];
  const next = [...list, value];
  return next.length > max ? next.slice(next.length - max) : next;
}

/** The session after an executed call: `recent` and the distinct tools called. */
export function withExecutedCall(
  session: SessionRecord,
  call: { tool: string; effect?: string; risk?: string; at: string },
): SessionRecord {
  const flow = flowOf(session);
  return {
    ...session,
    recent: pushBounded(session.recent, { tool: call.tool, ...(call.effect ? { effect: call.effect } : {}), ...(call.risk ? { risk: call.risk } : {}), at: call.at }, RECENT_LIMIT),
    flow: { ...flow, tools: pushBounded(flow.tools, call.tool, TOOLS_LIMIT, true) },
  };
}

/** The session after a denial at `at`. */
export function withDenial(session: SessionRecord, at: string): SessionRecord {
  const flow = flowOf(session);
  return { ...session, flow: { ...flow, denials: pushBounded(flow.denials, at, DENIALS_LIMIT) } };
}

/** What the PDP sees of a session (`session` in CEL). */
export function sessionView(session: SessionRecord): SessionState {
  const flow = flowOf(session);
  return {
    callsUsed: session.callsUsed,
    spend: session.spend,
    tainted: session.tainted,
    recent: session.recent,
    tools: flow.tools,
    denials: flow.denials,
    privateData: flow.privateReads.length > 0,
  };
}
