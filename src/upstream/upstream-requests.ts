import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject, JsonValue } from '../model/json.js';

/**
 * The methods an upstream may ask of Warden's client, which Warden forwards to the agent's own
 * client (each as an action of its own, decided and logged): the action and registry entry of each.
 */
export const CLIENT_METHODS = {
  'sampling/createMessage': { action: 'sampling.create', entry: (upstream: string) => `sampling:${upstream}`, capability: 'sampling' },
  'elicitation/create': { action: 'elicitation.create', entry: (upstream: string) => `elicitation:${upstream}`, capability: 'elicitation' },
  'roots/list': { action: 'roots.list', entry: (upstream: string) => `roots:${upstream}`, capability: 'roots' },
} as const;

export type ClientMethod = keyof typeof CLIENT_METHODS;

export const completionEntryName = (upstream: string) => `completion:${upstream}`;

/** Registry entries of the gateway's own MCP plumbing (not tools an agent lists). */
export const isPassthroughEntry = (name: string) => /^(resource|prompt|completion|sampling|elicitation|roots):/.test(name);

/**
 * The downstream session a call came from, as far as an upstream request needs it: a request the
 * upstream sends while the call runs (sampling, elicitation, roots) goes back to this session.
 */
export interface DownstreamSession {
  /** The gateway session itself: one per agent connection, whichever of its calls this is. */
  readonly owner: object;
  /** Whether the agent's client declared the capability the method needs. */
  supports(method: ClientMethod): boolean;
  /** Runs the upstream's request as an action of this session (decided, logged) and answers it. */
  ask(upstream: string, method: ClientMethod, params: JsonObject, signal: AbortSignal): Promise<JsonValue>;
  /** An allowed call reached `upstream`: its log messages may now reach this session. */
  used?(upstream: string): void;
}

/**
 * What a call through the gateway carries to its upstream besides the arguments: the agent's
 * cancellation, where the upstream's progress goes, and the session that made the call.
 */
export interface UpstreamChannel {
  signal?: AbortSignal;
  onprogress?: (progress: Progress) => void;
  session?: DownstreamSession;
  /** For the plumbing entries (sampling:, elicitation:, roots:): the agent's client, asked directly. */
  toClient?: (method: ClientMethod, params: JsonObject, signal?: AbortSignal) => Promise<JsonValue>;
}
