import type { ReadCacheControl } from '../store/caching-store.js';
import type { ReplicaBus, ReplicaState } from '../store/ports.js';
import type { PolicyService } from './policies.js';

/** A replica is listed while its heartbeat is younger than this. */
const STALE_MS = 15_000;
const HEARTBEAT_MS = 5_000;
/** Reloads asked by another replica carry this, so that they are not passed on again. */
const RELAYED = ' (asked by replica ';

export interface ReplicaView extends ReplicaState {
  /** This process. */
  self: boolean;
  /** Serves another bundle than this replica: one of them missed a reload or holds other files. */
  differs: boolean;
}

/**
 * Keeps the replicas of one deployment on one policy bundle: a reload on any replica (API, file
 * watcher) is published, and every other replica reloads its own policy folder; each announces
 * the bundle it serves, so one that serves another is visible (`/readyz`, `/v1/policies`, the
 * dashboard). Delivery is at most once; the heartbeat is how a replica that missed one shows up.
 * Identity changes go the same way: a key revoked or an agent suspended on one replica makes every
 * other drop its cached agents and credentials, instead of trusting them for up to a second.
 */
export class ReplicaCoordinator {
  private timer?: NodeJS.Timeout;
  private readonly startedAt: number;

  constructor(
    private readonly bus: ReplicaBus,
    private readonly policies: PolicyService,
    private readonly clock: () => number,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
    private readonly readCache?: ReadCacheControl,
  ) {
    this.startedAt = clock();
  }

  get replicaId(): string {
    return this.bus.replicaId;
  }

  async start(): Promise<void> {
    this.bus.onReload((why, from) => {
      if (from === this.bus.replicaId) return;
      this.policies.reload(`${why}${RELAYED}${from})`).catch((e: Error) => this.log('error', `policy reload asked by replica ${from} failed: ${e.message}`));
    });
    this.policies.onReload((why, result) => {
      void this.beat();
      if (result.ok && !why.includes(RELAYED)) {
        this.bus.publishReload(why).catch((e: Error) => this.log('warn', `could not tell the other replicas to reload (${e.message}); they keep their bundle until their own reload`));
      }
    });
    const cache = this.readCache;
    if (cache) {
      this.bus.onIdentityChange((from) => {
        if (from !== this.bus.replicaId) cache.drop();
      });
      cache.onWrite(() => {
        this.bus.publishIdentityChange().catch((e: Error) => this.log('warn', `could not tell the other replicas of an agent or key change (${e.message}); they see it within a second`));
      });
    }
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** The live replicas, this one first. */
  async replicas(): Promise<ReplicaView[]> {
    const bundle = this.policies.current.bundle;
    const listed = await this.bus.replicas(STALE_MS);
    const views = listed.map((r) => ({ ...r, self: r.id === this.bus.replicaId, differs: r.bundle !== bundle }));
    return views.sort((a, b) => Number(b.self) - Number(a.self) || a.id.localeCompare(b.id));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.bus.close();
  }

  private async beat(): Promise<void> {
    try {
      await this.bus.heartbeat({ id: this.bus.replicaId, bundle: this.policies.current.bundle, startedAt: this.startedAt, seenAt: this.clock() });
    } catch {
      // Redis is down: the limits deny meanwhile and say so; the next beat announces this replica again.
    }
  }
}
