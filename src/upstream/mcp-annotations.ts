import type { ToolEntry } from '../model/action-request.js';

/** MCP tool annotations (hints from the server; Warden treats them as defaults, never as proof). */
export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

type Risk = NonNullable<ToolEntry['risk']>;
type Effect = NonNullable<ToolEntry['effect']>;

/**
 * The registry effect and risk an upstream tool gets before warden.yaml overrides them. Absent
 * hints take the MCP specification's defaults, which are the cautious ones: a tool that does not
 * say it only reads may write, may destroy, and may reach the outside world.
 */
export function effectOfAnnotations(annotations: ToolAnnotations | undefined): { effect: Effect; risk: Risk; idempotent: boolean } {
  const readOnly = annotations?.readOnlyHint ?? false;
  const destructive = annotations?.destructiveHint ?? true;
  const openWorld = annotations?.openWorldHint ?? true;
  const idempotent = readOnly || (annotations?.idempotentHint ?? false);
  if (readOnly) return { effect: 'read', risk: openWorld ? 'medium' : 'low', idempotent };
  if (destructive) return { effect: 'destructive', risk: 'high', idempotent };
  if (openWorld) return { effect: 'external', risk: 'medium', idempotent };
  return { effect: 'write', risk: 'medium', idempotent };
}
