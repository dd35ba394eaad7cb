import { pinStatus } from '../../../upstream/tool-definition.js';
import { withStore, withWarden, type StoreSource } from '../state.js';
import { formatTable } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

/** `warden tools list`: every MCP tool definition Warden has pinned, and which are blocked. */
export async function toolsListCommand(options: StoreSource & { json?: boolean }): Promise<number> {
  return withStore(options, async (store) => {
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

/**
 * `warden tools approve <upstream>/<tool> --as <who>`: trusts the definition the upstream serves
 * now (after review: `warden tools list --json` shows both). Audited. A running gateway unblocks
 * the tool at its next pin check (within seconds).
 */
export async function toolsApproveCommand(key: string, options: { config?: string; as?: string }): Promise<number> {
  if (!options.as?.trim()) throw new UsageError('say who approves: --as <your id>');
  if (!/^[^/]+\/.+$/.test(key)) throw new UsageError(`"${key}" is not <upstream>/<tool> (see warden tools list)`);
  return withWarden(options.config, async (warden) => {
    const pin = await warden.store.getToolPin(key);
    if (!pin) throw new UsageError(`no pinned tool "${key}" (see warden tools list)`);
    if (pinStatus(pin) === 'pinned') {
      console.log(`${key} is pinned and usable; nothing to approve`);
      return EXIT.ok;
    }
    const approved = await warden.tools.approve(key, options.as!, 'approved with warden tools approve');
    console.log(`approved: ${key} is now pinned at ${approved!.hash}`);
    return EXIT.ok;
  }, { upstreams: false });
}
