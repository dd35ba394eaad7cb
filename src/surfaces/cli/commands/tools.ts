import { pinStatus } from '../../../upstream/tool-definition.js';
import type { ToolPin } from '../../../store/records.js';
import { noteIgnored, operatorMode, type OperatorOptions } from '../operator-mode.js';
// state.js and local-admin.js load all of Warden: imported where used, so a command that calls the
// gateway starts as fast as one that prints help.
import type { StoreSource } from '../state.js';
import { formatTable } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

/** `warden tools list`: every MCP tool definition Warden has pinned, and which are blocked. */
export async function toolsListCommand(options: StoreSource & { json?: boolean }): Promise<number> {
  return (await import('../state.js')).withStore(options, async (store) => {
    const pins = await store.listToolPins();
    if (options.json) {
      console.log(JSON.stringify(pins.map((p) => ({ ...p, status: pinStatus(p) })), null, 2));
      return EXIT.ok;
    }
    if (pins.length === 0) {
      console.log('no tool pins: no MCP upstream tool has been seen yet');
      return EXIT.ok;
    }
    const when = (ms?: number) => (ms ? new Date(ms).toISOString() : '-');
    const rows = pins.map((p) => [p.tool, pinStatus(p), p.hash.slice(0, 19), p.observedHash ? p.observedHash.slice(0, 19) : '-', p.approvedBy ?? '-', when(p.observedAt ?? p.approvedAt ?? p.firstSeenAt)]);
    console.log(formatTable(['TOOL', 'STATUS', 'PINNED', 'OBSERVED', 'APPROVED BY', 'SINCE'], rows));
    return EXIT.ok;
  });
}

export interface ToolsApproveOptions extends OperatorOptions {
  reason?: string;
}

const APPROVE_NEEDS = 'approving tool definitions needs a token with the admin role';

/**
 * `warden tools approve <upstream>/<tool>`: trusts the definition the upstream serves now (after
 * review: `warden tools list --json` shows both), by an admin (through the gateway) or the local
 * admin. Audited. Through the gateway the tool is usable at once; with --local-admin a running
 * gateway unblocks it at its next pin check (within seconds).
 */
export async function toolsApproveCommand(key: string, options: ToolsApproveOptions): Promise<number> {
  if (!/^[^/]+\/.+$/.test(key)) throw new UsageError(`"${key}" is not <upstream>/<tool> (see warden tools list)`);
  const reason = options.reason?.trim() || 'approved with warden tools approve';
  const mode = operatorMode(options, `tools approve ${key}`);
  noteIgnored([[mode.kind === 'api' && options.as !== undefined, '--as is ignored over the API: the approval is recorded as the person your token stands for']]);
  if (mode.kind === 'api') {
    const answer = await mode.gateway.send<{ tool: string; pin: ToolPin }>('POST', '/v1/tools/approve', { tool: key, reason });
    if (!answer.ok && answer.status === 409) {
      console.log(`${key}: nothing to approve (${answer.problem.detail})`);
      return EXIT.ok;
    }
    if (!answer.ok) return mode.gateway.refused(answer.problem, APPROVE_NEEDS);
    console.log(`approved: ${key} is now pinned at ${answer.body.pin.hash}`);
    return EXIT.ok;
  }
  const { withLocalAdmin } = await import('../local-admin.js');
  return withLocalAdmin(mode, 'tools approve', async (warden, admin) => {
    const pin = await warden.store.getToolPin(key);
    if (!pin) throw new UsageError(`no pinned tool "${key}" (see warden tools list)`);
    if (pinStatus(pin) === 'pinned') {
      console.log(`${key} is pinned and usable; nothing to approve`);
      return EXIT.ok;
    }
    const approved = await warden.tools.approveDefinition(admin, key, reason);
    console.log(`approved: ${key} is now pinned at ${approved.hash}`);
    return EXIT.ok;
  }, { upstreams: false });
}
