import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { JsonObject } from '../model/json.js';
import type { ToolPin } from '../store/records.js';

/**
 * What an upstream says a tool is: everything an agent (and its model) reads and everything
 * enforcement derives from it. Annotations decide a tool's effect and risk (a flip from
 * `destructiveHint` to `readOnlyHint` turned a destructive tool into a read); the output schema
 * shapes what results may hold; the server's name says whose tool it is.
 */
export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: JsonObject;
  title?: string;
  outputSchema?: JsonObject;
  annotations?: JsonObject;
  /** The upstream server's own name (`serverInfo.name` of its initialize answer). */
  server?: string;
  /** The pin format: 2 covers the fields above; pins without it covered name, description and schema. */
  pin: typeof PIN_FORMAT;
}

const PIN_FORMAT = 2;

export function toolDefinition(
  tool: { name: string; title?: string; description?: string; inputSchema?: unknown; outputSchema?: unknown; annotations?: unknown },
  server?: string,
): ToolDefinition {
  return {
    name: tool.name,
    description: tool.description ?? '',
    inputSchema: (tool.inputSchema ?? {}) as JsonObject,
    ...(tool.title !== undefined ? { title: tool.title } : {}),
    ...(tool.outputSchema !== undefined ? { outputSchema: tool.outputSchema as JsonObject } : {}),
    ...(tool.annotations !== undefined ? { annotations: tool.annotations as JsonObject } : {}),
    ...(server !== undefined ? { server } : {}),
    pin: PIN_FORMAT,
  };
}

/**
 * `sha256:<hex>` of the definition in canonical JSON: key order and whitespace do not matter,
 * any change to what it holds does. A changed description is exactly how a "rug pull" hides new
 * instructions for the model, so it counts as much as the schema and the annotations.
 */
export function definitionHash(definition: ToolDefinition | LegacyDefinition): string {
  return `sha256:${createHash('sha256').update(canonicalJson(definition as unknown as JsonObject)).digest('hex')}`;
}

/** What pins hashed before format 2. */
type LegacyDefinition = Pick<ToolDefinition, 'name' | 'description' | 'inputSchema'>;

/**
 * A pin written before format 2 trusted the name, description and input schema. When those still
 * match, the pin moves to format 2 with the rest of the definition as it is now (first sight of
 * the annotations after an upgrade); a pin whose old fields changed is left alone, so the tool is
 * blocked for review as any changed tool is.
 */
export function upgradeLegacyPin(pin: ToolPin, current: ToolDefinition): ToolPin | undefined {
  if ((pin.definition as { pin?: unknown } | undefined)?.pin === PIN_FORMAT) return undefined;
  const legacy = definitionHash({ name: current.name, description: current.description, inputSchema: current.inputSchema });
  const hash = definitionHash(current);
  const definition = current as unknown as JsonObject;
  const upgraded: ToolPin = { ...pin };
  if (pin.hash === legacy) Object.assign(upgraded, { hash, definition });
  if (pin.observedHash === legacy) Object.assign(upgraded, { observedHash: hash, observedDefinition: definition });
  return upgraded.hash !== pin.hash || upgraded.observedHash !== pin.observedHash ? upgraded : undefined;
}

/** What a pin means for calls: usable, or blocked until someone approves what the upstream now says. */
export function pinStatus(pin: ToolPin): 'pinned' | 'changed' | 'unapproved' {
  if (!pin.observedHash) return 'pinned';
  return pin.observedHash === pin.hash && !pin.approvedAt ? 'unapproved' : 'changed';
}

/** The pin after `by` approved the definition it observed: that definition is the trusted one. */
export function approvedPin(pin: ToolPin, by: string, at: number): ToolPin {
  return { tool: pin.tool, hash: pin.observedHash ?? pin.hash, definition: pin.observedDefinition ?? pin.definition, firstSeenAt: pin.firstSeenAt, approvedAt: at, approvedBy: by };
}
