import type { Principal } from '../auth/principal.js';
import type { PoliciesInForce } from '../enforcement/stages/policy-decision.js';
import { guardPolicyOptions } from '../guards/default-policies.js';
import { formatDiagnostic } from '../lib/diagnostic.js';
import { parseInstant } from '../lib/duration.js';
import { compilePolicies, type PolicySource } from '../policy/compile.js';
import { declaredId, readPolicyFolder, withBuiltInPolicies } from '../policy/load.js';
import { replay } from '../replay/replay.js';
import type { ReplayReport } from '../replay/replay-report.js';
import { newestPages } from '../store/decision-pages.js';
import type { DecisionLogStore } from '../store/ports.js';
import { requireHuman, tenantScope } from './access.js';
import { ServiceError } from './errors.js';

/** Records one online replay reads at most, and by default: it runs inside the gateway. */
export const MAX_REPLAY_RECORDS = 50_000;
export const DEFAULT_REPLAY_RECORDS = 10_000;

export interface ReplayRequest {
  /** The candidate policy set, as files (`*.test.yaml` files are ignored here). */
  files: ReadonlyArray<{ file: string; text: string }>;
  /** ISO 8601 or a duration back from now (`24h`); default 24h. */
  since?: string;
  until?: string;
  tenant?: string;
  agent?: string;
  tool?: string;
  /** Records read at most, newest first (default 10,000; at most 50,000). */
  limit?: number;
  /** Examples per transition (default 5, at most 20). */
  samples?: number;
  /**
   * The files are a draft laid over the policy folder: each replaces the folder's policy of the
   * same id, or is added. Default: the files are the whole candidate.
   */
  overlay?: boolean;
}

export interface PolicyReplayDeps {
  decisions: Pick<DecisionLogStore, 'queryDecisions'>;
  policies: PoliciesInForce;
  /** The policy folder, for drafts laid over it. */
  policiesDir: string;
  /** `guards.default_policies`: the candidate is loaded as the folder would be. */
  defaultGuards: boolean;
  flushLog: () => Promise<void>;
  clock: () => number;
}

/**
 * The impact of a draft: the recent logged requests decided again with a candidate policy set
 * and with the set in force. For admins (changing policies is theirs); a tenant's admin replays
 * their tenant's records only, an admin of every tenant any or all tenants.
 */
export class PolicyReplayService {
  constructor(private readonly d: PolicyReplayDeps) {}

  async replay(principal: Principal, request: ReplayRequest): Promise<ReplayReport> {
    const human = requireHuman(principal, 'admin', 'replaying traffic against a candidate policy set');
    const scope = tenantScope(human);
    if (scope !== undefined && request.tenant !== undefined && request.tenant !== scope) throw new ServiceError('forbidden', `you may only replay tenant ${scope}`);
    const tenant = scope ?? request.tenant;
    const now = this.d.clock();
    const from = instant(request.since ?? '24h', now, 'since');
    const to = request.until === undefined ? undefined : instant(request.until, now, 'until');
    const max = Math.min(request.limit ?? DEFAULT_REPLAY_RECORDS, MAX_REPLAY_RECORDS);
    const candidate = this.compile(request.overlay ? await this.overlaid(request.files) : request.files);
    await this.d.flushLog();
    const pages = newestPages(this.d.decisions, { since: from, until: to, tenant, agentId: request.agent, tool: request.tool }, { max });
    return replay(pages, {
      current: this.d.policies.current,
      candidate,
      samples: Math.min(request.samples ?? 5, 20),
      sampleRecords: true,
      from,
      to,
      truncated: () => pages.truncated,
    });
  }

  /** The folder's policies with the draft's in place of those of the same id. */
  private async overlaid(files: ReplayRequest['files']): Promise<PolicySource[]> {
    const folder = await readPolicyFolder(this.d.policiesDir);
    const drafted = new Set(files.map((f) => declaredId(f.text)).filter((id): id is string => id !== undefined));
    return [...folder.policies.filter((p) => !drafted.has(declaredId(p.text) ?? '')), ...files];
  }

  /** The candidate as the gateway would load it: with the built-in guard policies it does not replace. */
  private compile(files: ReplayRequest['files']) {
    const sources: PolicySource[] = files.filter((f) => !/\.test\.ya?ml$/.test(f.file)).map((f) => ({ file: f.file, text: f.text }));
    if (sources.length === 0) throw new ServiceError('invalid', 'the candidate has no policy file (only *.test.yaml files were sent)');
    const { builtIns, cautionOnly } = guardPolicyOptions(this.d.defaultGuards);
    const { policySet, diagnostics } = compilePolicies(builtIns ? withBuiltInPolicies(sources, builtIns) : sources, { cautionOnly });
    if (!policySet) {
      const errors = diagnostics.filter((x) => x.severity === 'error');
      throw new ServiceError('invalid', `the candidate policies do not compile:\n${errors.map(formatDiagnostic).join('\n')}`, {
        problem: 'invalid-policies',
        data: { diagnostics: errors.map((x) => ({ ...x, text: formatDiagnostic(x) })) },
      });
    }
    return policySet;
  }
}

function instant(text: string, now: number, name: string): number {
  const at = parseInstant(text, now);
  if (at === undefined) throw new ServiceError('invalid', `${name} must be an ISO 8601 date-time or a duration such as 24h`);
  return at;
}

