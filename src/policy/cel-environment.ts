import { Environment } from '@marcbachmann/cel-js';
import { trustRank } from '../model/trust.js';
import type { Relationship } from '../model/action-request.js';
import { durationMs } from '../lib/duration.js';
import { globMatches } from './glob.js';

/**
 * The variables a condition may use. Anything else is an "unknown variable" at load time.
 * `now` is a timestamp; the others are maps or strings built from the ActionRequest.
 */
export const CEL_VARIABLES = {
  agent: 'map',
  user: 'map',
  service: 'map',
  tenant: 'string',
  action: 'string',
  tool: 'map',
  resource: 'map',
  args: 'map',
  context: 'map',
  session: 'map',
  signals: 'map',
  now: 'google.protobuf.Timestamp',
  /** Policy data: the files of the folder's data/ by name (data.users, data.limits…). */
  data: 'map',
} as const;

export type CelVariable = keyof typeof CEL_VARIABLES;

/**
 * Data some functions read besides their arguments (`trust_at_least('high')` reads the agent's
 * trust, `related(...)` the request's relationship tuples). cel-js passes handlers only their
 * arguments, so the evaluator sets this before it evaluates a request's rules. Evaluation is
 * synchronous, so no two requests can interleave.
 */
export interface EvaluationScope {
  agentTrust: string;
  relationships: readonly Relationship[];
  relationshipKeys: Set<string> | undefined;
  /** The decision instant (epoch ms), for `denials_within`. */
  now: number;
}

export const scope: EvaluationScope = { agentTrust: 'low', relationships: [], relationshipKeys: undefined, now: 0 };

export function enterScope(agentTrust: string, relationships: readonly Relationship[] | undefined, now = Date.now()): void {
  scope.agentTrust = agentTrust;
  scope.relationships = relationships ?? [];
  scope.relationshipKeys = undefined;
  scope.now = now;
}

// Sequence helpers over the session (src/guards/sequence.ts keeps it up to date as calls happen).
// Pure functions of the request: the session is part of it, and `now` is the decision instant.

interface SessionView {
  recent?: ReadonlyArray<{ tool?: string; effect?: string; risk?: string; at?: string }>;
  tools?: readonly string[];
  denials?: readonly string[];
}

const RISK_LEVELS = ['low', 'medium', 'high', 'critical'];
const EFFECTS = ['read', 'write', 'external', 'destructive'];

/** The session's executed tools include one matching `pattern` (exact or glob). */
function calledBefore(session: SessionView, pattern: string): boolean {
  const tools = session.tools ?? (session.recent ?? []).map((r) => r.tool ?? '');
  return tools.some((t) => globMatches(pattern, t));
}

/**
 * How many of the last `n` executed calls match `what`: a risk level (that risk or higher), an
 * effect (read, write, external, destructive), or else a tool name or glob.
 */
function recentCount(session: SessionView, what: string, n?: bigint): bigint {
  const recent = session.recent ?? [];
  const window = n === undefined ? recent : n <= 0n ? [] : recent.slice(-Number(n));
  const rank = RISK_LEVELS.indexOf(what);
  const matches =
    rank >= 0
      ? (r: { risk?: string }) => RISK_LEVELS.indexOf(r.risk ?? '') >= rank
      : EFFECTS.includes(what)
        ? (r: { effect?: string }) => r.effect === what
        : (r: { tool?: string }) => globMatches(what, r.tool ?? '');
  let count = 0n;
  for (const r of window) if (matches(r)) count++;
  return count;
}

/** How many denials the session had within `window` (a duration such as 1m) before now. */
function denialsWithin(session: SessionView, window: string): bigint {
  const ms = durationMs(window);
  const since = scope.now - ms;
  let count = 0n;
  for (const at of session.denials ?? []) if (Date.parse(at) >= since) count++;
  return count;
}

const tupleKey = (s: string, r: string, o: string) => `${s}\u0000${r}\u0000${o}`;

function related(subject: string, relation: string, object: string): boolean {
  if (!scope.relationshipKeys) {
    scope.relationshipKeys = new Set(scope.relationships.map((t) => tupleKey(t.subject, t.relation, t.object)));
  }
  return scope.relationshipKeys.has(tupleKey(subject, relation, object));
}

function trustAtLeast(level: string): boolean {
  const wanted = trustRank(level);
  if (wanted < 0) throw new Error(`unknown trust level "${level}" (low, medium, high, admin)`);
  return trustRank(scope.agentTrust) >= wanted;
}

const clockTimes = new Map<string, number>();

/** Minutes since midnight of an HH:MM literal (a handful per policy set, parsed once each). */
export function minutesOfDay(hhmm: string): number {
  let minutes = clockTimes.get(hhmm);
  if (minutes === undefined) {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
    if (!m) throw new Error(`time "${hhmm}" is not HH:MM`);
    minutes = Number(m[1]) * 60 + Number(m[2]);
    if (clockTimes.size >= 1_000) clockTimes.clear();
    clockTimes.set(hhmm, minutes);
  }
  return minutes;
}

/**
 * A time zone's formatter, and the local minute of day of the last UTC minute asked for. Requests
 * come in at the clock's pace, so nearly all of them fall in the minute before: one formatting
 * (~2 µs through Intl) per zone and minute instead of one per condition evaluated.
 */
interface ZoneClock {
  format: Intl.DateTimeFormat;
  /** Epoch minute (ms ÷ 60,000, floored) whose local minute is `local`; NaN before the first. */
  minute: number;
  local: number;
}

const zoneClocks = new Map<string, ZoneClock>();

function formatMinutes(format: Intl.DateTimeFormat, ms: number): number {
  const [h, m] = format.format(ms).split(':');
  return Number(h) * 60 + Number(m);
}

function localMinutes(at: Date, timeZone: string): number {
  let clock = zoneClocks.get(timeZone);
  if (!clock) {
    const format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clock = { format, minute: NaN, local: 0 };
    zoneClocks.set(timeZone, clock);
  }
  const ms = at.getTime();
  const minute = Math.floor(ms / 60_000);
  if (minute === clock.minute) return clock.local;
  const local = formatMinutes(clock.format, ms);
  // Remembered only when the first and the last millisecond of the UTC minute show the same local
  // minute: then the whole minute does (an offset of whole minutes, no transition inside it). An
  // offset with seconds (local mean time before ~1970) or a transition mid-minute is never cached.
  const first = minute * 60_000;
  if (formatMinutes(clock.format, first) === local && formatMinutes(clock.format, first + 59_999) === local) {
    clock.minute = minute;
    clock.local = local;
  }
  return local;
}

/** True when `at` falls in [from, to) local time; a window like 22:00–06:00 wraps midnight. */
export function inTimeWindow(at: Date, from: string, to: string, timeZone = 'UTC'): boolean {
  const start = minutesOfDay(from);
  const end = minutesOfDay(to);
  const t = localMinutes(at, timeZone);
  return start <= end ? t >= start && t < end : t >= start || t < end;
}

/**
 * The condition language. `untyped` leaves those variables unregistered so a caller can declare
 * them with a precise type (policy analysis declares `args` from a tool's input schema).
 */
export function createEnvironment(untyped: readonly CelVariable[] = []): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const [name, type] of Object.entries(CEL_VARIABLES)) if (!untyped.includes(name as CelVariable)) env.registerVariable(name, type);
  env
    .registerFunction('glob(string, string): bool', (text: string, pattern: string) => globMatches(pattern, text), {
      description: 'glob(text, pattern): true when text matches a pattern with * and ?',
    })
    .registerFunction('trust_at_least(string): bool', trustAtLeast, {
      description: "true when the agent's trust is at least the given level (low < medium < high < admin)",
    })
    .registerFunction('related(string, string, string): bool', related, {
      description: 'related(subject, relation, object): true when that relationship tuple was supplied',
    })
    .registerFunction('in_time_window(google.protobuf.Timestamp, string, string): bool', (at: Date, f: string, t: string) =>
      inTimeWindow(at, f, t),
    )
    .registerFunction(
      'in_time_window(google.protobuf.Timestamp, string, string, string): bool',
      (at: Date, f: string, t: string, tz: string) => inTimeWindow(at, f, t, tz),
    )
    .registerFunction('called_before(map, string): bool', calledBefore, {
      description: "called_before(session, 'read_secrets'): a tool matching the name or glob has run in this session",
    })
    .registerFunction('recent_count(map, string): int', (s: SessionView, what: string) => recentCount(s, what), {
      description: "recent_count(session, 'high'): how many recent calls are of that risk or higher, that effect, or that tool (glob)",
    })
    .registerFunction('recent_count(map, string, int): int', recentCount, {
      description: "recent_count(session, 'high', 5): the same over the last 5 calls",
    })
    .registerFunction('denials_within(map, string): int', denialsWithin, {
      description: "denials_within(session, '1m'): how many of the session's calls were denied in the last minute",
    });
  // JSON numbers arrive as doubles while CEL literals like `100` are ints; comparisons across the
  // two already work, and these make arithmetic (`args.amount + 1 > 100`) work the same way.
  const arithmetic: Record<string, (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
  };
  for (const [op, fn] of Object.entries(arithmetic)) {
    env.registerOperator(`double ${op} int`, (a: number, b: bigint) => fn(a, Number(b)));
    env.registerOperator(`int ${op} double`, (a: bigint, b: number) => fn(Number(a), b));
  }
  return env;
}

/** One environment for the process: building one is expensive and it holds no per-request state. */
export const celEnvironment = createEnvironment();

export type CompiledExpression = (activation: Record<string, unknown>) => unknown;

const compiled = new Map<string, CompiledExpression>();

/**
 * Parses an expression once per distinct text. Large policy sets repeat the same conditions
 * across many rules; one shared parse tree keeps cel-js's per-node type caches warm (measured in
 * bench/pdp: ~4x faster per evaluation than thousands of separate trees of the same text).
 */
export function compileExpression(source: string): CompiledExpression {
  let expression = compiled.get(source);
  if (!expression) {
    if (compiled.size >= 100_000) compiled.clear();
    expression = celEnvironment.parse(source) as CompiledExpression;
    compiled.set(source, expression);
  }
  return expression;
}
