import type { Principal } from '../auth/principal.js';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import type { ToolPinStore } from '../store/ports.js';
import type { ToolPin } from '../store/records.js';
import type { Executor } from '../upstream/executor.js';
import type { McpCatalog } from '../upstream/mcp-catalog.js';
import { pinStatus } from '../upstream/tool-definition.js';
import type { ToolRegistry } from '../upstream/tool-registry.js';
import { requireHuman } from './access.js';
import { ServiceError } from './errors.js';

export interface ToolServiceDeps {
  tools: ToolRegistry;
  executors: Map<string, Executor>;
  mcp: McpCatalog;
  pins: ToolPinStore;
  recorder: DecisionRecorder;
}

/** The tool registry as operators see it, and the approval of MCP tool definitions (pins). */
export class ToolService {
  constructor(private readonly d: ToolServiceDeps) {}

  /** The registry entry of a tool, by the name agents call it. */
  get(name: string) {
    return this.d.tools.get(name);
  }

  /** Every registered tool. */
  all() {
    return [...this.d.tools.all()];
  }

  /** Whether Warden can run `name` (an HTTP endpoint, an MCP upstream, an in-process function). */
  isExecutable(name: string): boolean {
    return this.d.executors.has(name);
  }

  /** Runs `name` in this process with `executor` (an embedding application's own function, benchmarks). */
  useExecutor(name: string, executor: Executor): void {
    this.d.executors.set(name, executor);
  }

  /** Every tool, where it runs, MCP upstream health, and the pins that guard MCP tools. */
  async catalog(principal: Principal) {
    requireHuman(principal, 'viewer', 'the tool catalog');
    const { tools, executors, mcp } = this.d;
    const upstreams = mcp.allUpstreams().map((u) => u.health());
    const stateOf = new Map(upstreams.map((h) => [h.name, h.state]));
    const entries = [...tools.all()].map((t) => {
      // An MCP tool whose upstream is down or reconnecting is listed with that state: its calls fail.
      const upstreamState = t.entry.server !== undefined ? stateOf.get(t.entry.server) : undefined;
      return {
        ...t.entry,
        description: t.description,
        executable: executors.has(t.entry.name),
        ...(t.blocked ? { blocked: t.blocked } : {}),
        ...(upstreamState !== undefined && upstreamState !== 'ready' ? { upstream_state: upstreamState } : {}),
      };
    });
    const pins = (await this.d.pins.listToolPins()).map((p) => ({ ...p, status: pinStatus(p) }));
    const availability = mcp.availability();
    return { status: availability.status, ...(availability.unavailable.length ? { unavailable: availability.unavailable } : {}), tools: entries, upstreams, pins };
  }

  /**
   * Trusts the definition an MCP upstream serves now for `<upstream>/<tool>` (a changed, new or
   * flagged one), audited as `tool.pin.approve`. An upstream serves every tenant, so only an admin
   * of every tenant may: a tenant's admin would unblock the tool for tenants they cannot see.
   */
  async approveDefinition(principal: Principal, key: string, reason: string): Promise<ToolPin> {
    const human = requireHuman(principal, 'admin', 'approving tool definitions');
    if (human.tenant !== '*') {
      throw new ServiceError('forbidden', `${human.id} is an admin of ${human.tenant}; a tool definition is trusted for every tenant, so only an admin of every tenant may approve it`, { problem: 'other-tenant' });
    }
    if (!(await this.d.pins.getToolPin(key))) throw new ServiceError('not_found', `no pinned tool "${key}"; GET /v1/tools lists them as <upstream>/<tool>`);
    const pin = await this.approve(key, human.id, reason);
    if (!pin) throw new ServiceError('conflict', `${key} has nothing waiting for approval`);
    return pin;
  }

  /** The approval itself, for callers that are already trusted (the CLI on the host). Undefined: nothing waited. */
  async approve(key: string, by: string, reason: string, tenant = ''): Promise<ToolPin | undefined> {
    const before = await this.d.pins.getToolPin(key);
    if (!before || !(await this.d.mcp.approve(key, by))) return undefined;
    const after = (await this.d.pins.getToolPin(key))!;
    await this.d.recorder.admin('tool.pin.approve', by, `definition ${after.hash} of ${key} approved${reason ? `: ${reason}` : ''}`, { tool: key, hash: after.hash, previous: before.hash }, tenant);
    return after;
  }
}
