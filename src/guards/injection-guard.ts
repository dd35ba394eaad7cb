import type { GuardsConfig } from '../config/config-schema.js';
import type { JsonObject } from '../model/json.js';
import { scanText, scanValue, type InjectionFinding, type InjectionKind, type InjectionScan, type ScanOptions } from './injection/index.js';
import { worthScanning } from './injection/scan.js';

/**
 * Finding kinds that have no innocent reason to be in what an agent sends to a tool: a link or
 * image that carries data to a host not on the allow-list is exfiltration in progress. A scan with
 * one of them is `critical`; the default guard policy denies it and the incident is critical.
 */
export const CRITICAL_KINDS: ReadonlySet<InjectionKind> = new Set(['exfiltration_link']);

/** At most this many findings are kept per signal (the decision log explains, it does not archive). */
const MAX_FINDINGS = 10;

/**
 * What the injection guard tells the policy about one scanned thing (the user prompt, the
 * arguments, a result, a tool description): `signals.injection.prompt`, `signals.injection.args`.
 */
export interface InjectionSignal extends JsonObject {
  score: number;
  suspicious: boolean;
  /** Suspicious, with a finding of a critical kind (CRITICAL_KINDS). */
  critical: boolean;
  /** Distinct kinds found, sorted. */
  kinds: string[];
  findings: Array<{ kind: string; score: number; detail: string; offset: number; path?: string }>;
}

export const NO_INJECTION: InjectionSignal = Object.freeze({ score: 0, suspicious: false, critical: false, kinds: [], findings: [] }) as InjectionSignal;

export function scanOptions(config: GuardsConfig): ScanOptions {
  return { allowedHosts: config.allowed_hosts, ...(config.injection.threshold !== undefined ? { threshold: config.injection.threshold } : {}) };
}

function summarize(scan: InjectionScan & { findings: Array<InjectionFinding & { path?: string }> }): InjectionSignal {
  if (scan.findings.length === 0) return { ...NO_INJECTION, kinds: [], findings: [], score: round(scan.score) };
  const findings = [...scan.findings].sort((a, b) => b.score - a.score).slice(0, MAX_FINDINGS);
  return {
    score: round(scan.score),
    suspicious: scan.suspicious,
    critical: scan.suspicious && scan.findings.some((f) => CRITICAL_KINDS.has(f.kind)),
    kinds: [...new Set(scan.findings.map((f) => f.kind))].sort(),
    findings: findings.map((f) => ({ kind: f.kind, score: round(f.score), detail: f.detail, offset: f.offset, ...(f.path !== undefined ? { path: f.path } : {}) })),
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The user prompt (`context.userPrompt`): direct injection. A prompt the authenticated user wrote
 * (`guards.taint.user_prompt: trusted`) is judged by the rules alone: the classifier learned what
 * injected requests look like, and the user's own request is one (see ScanOptions.classifier).
 */
export function scanPrompt(prompt: unknown, config: GuardsConfig): InjectionSignal {
  if (typeof prompt !== 'string' || prompt === '') return NO_INJECTION;
  const options = scanOptions(config);
  return summarize(scanText(prompt, config.taint.user_prompt === 'trusted' ? { ...options, classifier: false } : options));
}

/**
 * Whether the arguments are a question for the human user by design: an MCP upstream's
 * elicitation/create, which the gateway forwards to the agent's client as the action
 * `elicitation.create` of its registry entry `elicitation:<upstream>` (both set by Warden, not by
 * the caller: the entry is the registry's). Its message and form ask the reader for something,
 * which is what the classifier learned injected requests look like: it scored the MCP conformance
 * suite's plain "Please provide your information" form 0.91, and the guard policy held it.
 */
export function asksTheUser(action: string | undefined, tool: { name: string } | undefined): boolean {
  return action === 'elicitation.create' && tool?.name.startsWith('elicitation:') === true;
}

/**
 * The tool arguments: what the agent is about to send (paths such as `args.body`). A question for
 * the user (asksTheUser) is judged by the rules alone, like a trusted user prompt: an override,
 * a forged role header, hidden text, a script or an exfiltration link in it is still found.
 */
export function scanArgs(args: JsonObject, config: GuardsConfig, questionForTheUser = false): InjectionSignal {
  // Most argument objects are a few ids, numbers and enums ({limit: 10}): nothing scanValue would
  // read, and its set-up (options, walk state, closures, a WeakSet) cost ~5 µs a call for them.
  if (nothingToScan(args)) return { ...NO_INJECTION, kinds: [], findings: [] };
  return scanArgsFully(args, config, questionForTheUser);
}

/**
 * A flat object whose keys and values scanValue would all skip: keys and strings it judges not
 * worth scanning (worthScanning: no two letters in a row, or one short token), numbers, booleans,
 * null. Anything else (a nested value, a longer or spaced string) takes the full scan. Its answer
 * equals the full scan's (test/guards/scan-args-shortcut.property.test.ts).
 */
function nothingToScan(args: JsonObject): boolean {
  for (const key in args) {
    if (!Object.hasOwn(args, key)) continue;
    if (worthScanning(key)) return false;
    const v = args[key];
    if (typeof v === 'string') {
      if (worthScanning(v)) return false;
    } else if (v !== null && typeof v === 'object') return false;
  }
  return true;
}

/** scanArgs without its shortcut: the reference the shortcut is tested against. */
export function scanArgsFully(args: JsonObject, config: GuardsConfig, questionForTheUser = false): InjectionSignal {
  const options = scanOptions(config);
  return summarize(scanValue(args, { ...options, rootPath: 'args', ...(questionForTheUser ? { classifier: false } : {}) }));
}

/**
 * A tool result: indirect injection, content the agent will read next (paths such as `result.body`).
 * The user's own answer to a question (asksTheUser: an elicitation's result) is judged by the
 * rules alone, like the question: the classifier scored a plain "action=accept, content={name}"
 * answer 0.58, which flagged it and tainted the session.
 */
export function scanResult(result: unknown, config: GuardsConfig, answerOfTheUser = false): InjectionSignal {
  const options = scanOptions(config);
  return summarize(scanValue(result, { ...options, rootPath: 'result', ...(answerOfTheUser ? { classifier: false } : {}) }));
}

/**
 * A tool description from an MCP upstream (tool poisoning): instructions hidden in a description
 * reach the model as if they were the tool author's. For the MCP gateway, when it lists tools.
 */
export function scanToolDescription(name: string, description: string, options: ScanOptions = {}): InjectionSignal & { tool: string } {
  return { tool: name, ...summarize(scanText(description, options)) };
}
