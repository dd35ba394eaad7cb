import { globMatches } from '../glob.js';
import type { CompiledRule } from '../policy-set.js';

/**
 * What analysis knows of a tool: its name, the JSON Schema of its arguments when known, and the
 * MCP upstream serving it (absent for tools declared in warden.yaml or by the SDK).
 */
export interface ToolInfo {
  name: string;
  inputSchema?: Record<string, unknown>;
  upstream?: string;
}

/**
 * The registry as analysis sees it. `unlistedPrefixes`: namespaces (`docs.` of a prefixed MCP
 * upstream) whose tools are not listed; `complete: false` when tools may exist that no name here
 * stands for (an upstream whose tools are not known and which is not prefixed). A pattern that may
 * name an unlisted tool is never reported as matching nothing.
 */
export interface ToolCatalog {
  tools: ToolInfo[];
  unlistedPrefixes?: string[];
  complete?: boolean;
}

/** The action whose requests carry a tool's arguments: other actions have no `args` to type. */
export const TOOL_CALL = 'tool.call';

/** The registered tools a rule can apply to (all of them for a rule that names none). */
export function toolsOfRule(rule: CompiledRule, tools: readonly ToolInfo[]): ToolInfo[] {
  if (!rule.tools) return [...tools];
  return tools.filter((t) => rule.tools!.some((pattern) => globMatches(pattern, t.name)));
}

/** True when the rule applies to tool calls at all. */
export function appliesToToolCalls(rule: CompiledRule): boolean {
  return !rule.actions || rule.actions.includes(TOOL_CALL);
}

/** A pattern that might match a tool the catalog does not list. */
export function mayNameUnlisted(pattern: string, catalog: ToolCatalog): boolean {
  if (catalog.complete === false) return true;
  const literal = pattern.split(/[*?]/)[0]!;
  return (catalog.unlistedPrefixes ?? []).some((prefix) => literal.startsWith(prefix) || (literal !== pattern && prefix.startsWith(literal)));
}
