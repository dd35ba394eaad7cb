import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { JsonObject } from '../model/json.js';
import type { ToolPin } from '../store/records.js';

/** What an upstream says a tool is: the parts an agent (and its model) reads and acts on. */
export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: JsonObject;
}

export function toolDefinition(tool: { name: string; description?: string; inputSchema?: unknown }): ToolDefinition {
  return { name: tool.name, description: tool.description ?? '', inputSchema: (tool.inputSchema ?? {}) as JsonObject };
}

/**
 * `sha256:<hex>` of the definition in canonical JSON: key order and whitespace do not matter,
 * any change to the name, the description or the schema does. A changed description is exactly
 * how a "rug pull" hides new instructions for the model, so it counts as much as the schema.
 */
export function definitionHash(definition: ToolDefinition): string {
  return `sha256:${createHash('sha256').update(canonicalJson(definition)).digest('hex')}`;
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
