import type { Effect } from '../model/effect.js';
import type { RecordHead } from '../store/decision-pages.js';
import type { Replayed, SideDecision } from './joint-decide.js';
import type { ReplayInput } from './replay-input.js';

/** `allow→deny`: how a record's decision changes from the current set to the candidate. */
export type Transition = `${Effect}→${Effect}`;

/** A record shown as an example of a transition or an undetermined case. */
export interface ReplaySample {
  seq: number;
  id: string;
  time: string;
  tenant: string;
  agent: string;
  tool: string;
  session?: string;
  /** What the log says was decided then (by the bundle of that time, and any later stage). */
  logged: Effect;
  current?: SideDecision;
  candidate?: SideDecision;
  /** Undetermined: the rule and the path it reads that the log does not hold. */
  unknown?: { rule: string; path: string };
  /** The record itself, when asked for (the dashboard shows it): whole when the reader read whole records. */
  record?: RecordHead;
}

export interface TransitionCount {
  transition: Transition;
  count: number;
  samples: ReplaySample[];
}

/** Counts of one tool, agent or tenant. */
export interface GroupCount {
  key: string;
  replayed: number;
  changed: number;
  undetermined: number;
  transitions: Partial<Record<Transition, number>>;
}

export interface RuleChange {
  transition: Transition;
  /** `policy/rule`, or `(default deny)` when no rule matched. */
  from: string;
  to: string;
  count: number;
}

export interface ReplayReport {
  current: { bundle: string };
  candidate: { bundle: string };
  window: { from?: string; to?: string; firstSeq?: number; lastSeq?: number };
  /** Records read from the log (after the store's filters). */
  read: number;
  /** Records decided again. */
  replayed: number;
  /** Records not decided again, by why. */
  skipped: Record<string, number>;
  unchanged: number;
  changed: number;
  undetermined: number;
  /** Unchanged effect, another deciding rule (obligations may differ). */
  reattributed: number;
  /** Replayed records written before the log kept the request as decided (rebuilt from the record's columns). */
  legacy: { replayed: number; undetermined: number };
  transitions: TransitionCount[];
  rules: RuleChange[];
  tools: GroupCount[];
  agents: GroupCount[];
  tenants: GroupCount[];
  /** Why records were undetermined: the rule, the path its condition reads, how many, examples. */
  undeterminedBy: Array<{ rule: string; path: string; count: number; samples: ReplaySample[] }>;
  /** The record bound was reached: later records of the window were not read. */
  truncated: boolean;
  elapsedMs: number;
  recordsPerSecond: number;
}

export interface ReportOptions {
  /** Examples kept per transition (and per undetermined cause). Default 5. */
  samples?: number;
  /** Keep the whole record in each example. */
  sampleRecords?: boolean;
  /** Groups listed per breakdown (tools, agents, tenants, rules), largest first. Default 25. */
  groups?: number;
}

const DEFAULT_RULE = '(default deny)';

/**
 * What a builder has counted, as plain data (Maps of plain objects): it can cross a worker
 * thread's boundary (structured clone) and be merged into another builder.
 */
export interface ReportState {
  read: number;
  replayed: number;
  skipped: Map<string, number>;
  unchanged: number;
  changed: number;
  undetermined: number;
  reattributed: number;
  legacy: { replayed: number; undetermined: number };
  transitions: Map<Transition, TransitionCount>;
  rules: Map<string, RuleChange>;
  groups: { tools: Map<string, GroupCount>; agents: Map<string, GroupCount>; tenants: Map<string, GroupCount> };
  causes: Map<string, { rule: string; path: string; count: number; samples: ReplaySample[] }>;
  firstSeq?: number;
  lastSeq?: number;
}

const emptyState = (): ReportState => ({
  read: 0,
  replayed: 0,
  skipped: new Map(),
  unchanged: 0,
  changed: 0,
  undetermined: 0,
  reattributed: 0,
  legacy: { replayed: 0, undetermined: 0 },
  transitions: new Map(),
  rules: new Map(),
  groups: { tools: new Map(), agents: new Map(), tenants: new Map() },
  causes: new Map(),
});

/** Accumulates replayed records into a report; memory bounded by the number of distinct groups. */
export class ReportBuilder {
  private readonly s: ReportState = emptyState();
  private readonly samples: number;

  constructor(private readonly options: ReportOptions = {}) {
    this.samples = options.samples ?? 5;
  }

  get readCount(): number {
    return this.s.read;
  }

  /** What was counted so far (for merging into another builder). */
  state(): ReportState {
    return this.s;
  }

  /** Adds what another builder counted (a worker's share of the log). */
  merge(o: ReportState): void {
    const s = this.s;
    s.read += o.read;
    s.replayed += o.replayed;
    s.unchanged += o.unchanged;
    s.changed += o.changed;
    s.undetermined += o.undetermined;
    s.reattributed += o.reattributed;
    s.legacy.replayed += o.legacy.replayed;
    s.legacy.undetermined += o.legacy.undetermined;
    for (const [k, v] of o.skipped) s.skipped.set(k, (s.skipped.get(k) ?? 0) + v);
    for (const [k, t] of o.transitions) {
      const mine = s.transitions.get(k);
      if (!mine) s.transitions.set(k, t);
      else {
        mine.count += t.count;
        mine.samples.push(...t.samples.slice(0, Math.max(0, this.samples - mine.samples.length)));
      }
    }
    for (const [k, r] of o.rules) {
      const mine = s.rules.get(k);
      if (mine) mine.count += r.count;
      else s.rules.set(k, r);
    }
    for (const which of ['tools', 'agents', 'tenants'] as const) {
      for (const [k, g] of o.groups[which]) {
        const mine = s.groups[which].get(k);
        if (!mine) {
          s.groups[which].set(k, g);
          continue;
        }
        mine.replayed += g.replayed;
        mine.changed += g.changed;
        mine.undetermined += g.undetermined;
        for (const [t, n] of Object.entries(g.transitions) as Array<[Transition, number]>) mine.transitions[t] = (mine.transitions[t] ?? 0) + n;
      }
    }
    for (const [k, c] of o.causes) {
      const mine = s.causes.get(k);
      if (!mine) s.causes.set(k, c);
      else {
        mine.count += c.count;
        mine.samples.push(...c.samples.slice(0, Math.max(0, this.samples - mine.samples.length)));
      }
    }
    if (o.firstSeq !== undefined) s.firstSeq = Math.min(s.firstSeq ?? o.firstSeq, o.firstSeq);
    if (o.lastSeq !== undefined) s.lastSeq = Math.max(s.lastSeq ?? o.lastSeq, o.lastSeq);
  }

  /** Counts a record the store returned, whatever becomes of it. */
  seen(record: RecordHead): void {
    const s = this.s;
    s.read++;
    // Pages may come newest first (the online replay): the window is the seq range seen.
    s.firstSeq = Math.min(s.firstSeq ?? record.seq, record.seq);
    s.lastSeq = Math.max(s.lastSeq ?? record.seq, record.seq);
  }

  skip(reason: string): void {
    this.s.skipped.set(reason, (this.s.skipped.get(reason) ?? 0) + 1);
  }

  add(record: RecordHead, input: ReplayInput, outcome: Replayed): void {
    const s = this.s;
    s.replayed++;
    if (input.legacy) s.legacy.replayed++;
    const groups = [this.group(s.groups.tools, record.resourceId), this.group(s.groups.agents, record.agentId), this.group(s.groups.tenants, record.tenant)];
    for (const g of groups) g.replayed++;
    if (outcome.kind === 'undetermined') {
      s.undetermined++;
      if (input.legacy) s.legacy.undetermined++;
      for (const g of groups) g.undetermined++;
      const read = outcome.reads[0];
      const path = read ? read.path.join('.') : '?';
      const key = `${read?.rule ?? '?'}\u0000${path}`;
      let cause = s.causes.get(key);
      if (!cause) s.causes.set(key, (cause = { rule: read?.rule ?? '?', path, count: 0, samples: [] }));
      cause.count++;
      if (cause.samples.length < this.samples) cause.samples.push({ ...this.sample(record), unknown: { rule: cause.rule, path } });
      return;
    }
    const { current, candidate } = outcome;
    if (current.effect === candidate.effect) {
      s.unchanged++;
      if (!outcome.ruleUnknown && current.rule !== candidate.rule) s.reattributed++;
      return;
    }
    s.changed++;
    const transition: Transition = `${current.effect}→${candidate.effect}`;
    let t = s.transitions.get(transition);
    if (!t) s.transitions.set(transition, (t = { transition, count: 0, samples: [] }));
    t.count++;
    if (t.samples.length < this.samples) t.samples.push({ ...this.sample(record), current, candidate });
    for (const g of groups) {
      g.changed++;
      g.transitions[transition] = (g.transitions[transition] ?? 0) + 1;
    }
    const from = current.rule ?? (outcome.ruleUnknown ? '?' : DEFAULT_RULE);
    const to = candidate.rule ?? (outcome.ruleUnknown ? '?' : DEFAULT_RULE);
    const key = `${transition}\u0000${from}\u0000${to}`;
    const rule = s.rules.get(key);
    if (rule) rule.count++;
    else s.rules.set(key, { transition, from, to, count: 1 });
  }

  build(meta: { current: string; candidate: string; from?: number; to?: number; truncated: boolean; elapsedMs: number }): ReplayReport {
    const limit = this.options.groups ?? 25;
    const top = <T extends { count: number }>(list: Iterable<T>) => [...list].sort((a, b) => b.count - a.count).slice(0, limit);
    const topGroups = (map: Map<string, GroupCount>) =>
      [...map.values()]
        .filter((g) => g.changed + g.undetermined > 0)
        .sort((a, b) => b.changed + b.undetermined - (a.changed + a.undetermined) || (a.key < b.key ? -1 : 1))
        .slice(0, limit);
    return {
      current: { bundle: meta.current },
      candidate: { bundle: meta.candidate },
      window: {
        ...(meta.from !== undefined ? { from: new Date(meta.from).toISOString() } : {}),
        ...(meta.to !== undefined ? { to: new Date(meta.to).toISOString() } : {}),
        ...(this.s.firstSeq !== undefined ? { firstSeq: this.s.firstSeq, lastSeq: this.s.lastSeq } : {}),
      },
      read: this.s.read,
      replayed: this.s.replayed,
      skipped: Object.fromEntries([...this.s.skipped].sort((a, b) => b[1] - a[1])),
      unchanged: this.s.unchanged,
      changed: this.s.changed,
      undetermined: this.s.undetermined,
      reattributed: this.s.reattributed,
      legacy: this.s.legacy,
      transitions: [...this.s.transitions.values()].sort((a, b) => b.count - a.count),
      rules: top(this.s.rules.values()),
      tools: topGroups(this.s.groups.tools),
      agents: topGroups(this.s.groups.agents),
      tenants: topGroups(this.s.groups.tenants),
      undeterminedBy: top(this.s.causes.values()),
      truncated: meta.truncated,
      elapsedMs: Math.round(meta.elapsedMs),
      recordsPerSecond: meta.elapsedMs > 0 ? Math.round((this.s.read / meta.elapsedMs) * 1000) : 0,
    };
  }

  private group(map: Map<string, GroupCount>, key: string): GroupCount {
    let g = map.get(key);
    if (!g) map.set(key, (g = { key, replayed: 0, changed: 0, undetermined: 0, transitions: {} }));
    return g;
  }

  private sample(record: RecordHead): ReplaySample {
    return {
      seq: record.seq,
      id: record.id,
      time: new Date(record.time).toISOString(),
      tenant: record.tenant,
      agent: record.agentId,
      tool: record.resourceId,
      ...(record.sessionId ? { session: record.sessionId } : {}),
      logged: record.effect,
      ...(this.options.sampleRecords ? { record } : {}),
    };
  }
}
