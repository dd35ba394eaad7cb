import type { Redactor } from '../../audit/redact.js';
import type { GuardsConfig } from '../../config/index.js';
import { asksTheUser, NO_INJECTION, scanArgs, scanPrompt, scanResult, type InjectionSignal } from '../../guards/injection-guard.js';
import { flowOf, pushBounded, SOURCES_LIMIT, withDenial, withExecutedCall } from '../../guards/sequence.js';
import { newCounterparties } from '../../guards/counterparty.js';
import type { ExternalVerdict } from '../../guards/external-classifier.js';
import { counterpartyTokens, hasExternalEffect, isUntrustedSource, readsPrivateData, hashSet, rememberHashes, resultHashes, sensitiveArgNames, taintedArguments, taintHashes, tokenHash } from '../../guards/taint.js';
import { lethalTrifecta } from '../../guards/trifecta.js';
import type { ActionRequest } from '../../model/action-request.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { SessionRecord } from '../../store/records.js';
import type { Exchange } from '../exchange.js';
import { withExternalFindings } from './external-classifier.js';

const NOTHING_TRUSTED: ReadonlySet<string> = new Set();

/**
 * Stage 6: signals. The guards look at the call (the user prompt, the arguments, the session's
 * taint and history) and say what they see in `request.signals`; the policy decides what to do.
 * Every finding is also copied into the decision record (`details.signals`).
 *
 *   signals.injection.prompt / .args  { score, suspicious, critical, kinds, findings }
 *   signals.taint                     { session, sensitive_args, sources }
 *   signals.trifecta                  private data read + untrusted content seen + external tool
 *
 * Returns the session with what the call taught it (values from the prompt are untrusted; an
 * injection in the prompt or the arguments means the session has seen untrusted content), or the
 * same record when it taught nothing. The caller writes it; this stage does no I/O.
 */
export function addSignals(x: Exchange, request: ActionRequest, session: SessionRecord | undefined, config: GuardsConfig, redactor: Redactor): SessionRecord | undefined {
  const prompt = typeof request.context.userPrompt === 'string' ? request.context.userPrompt : '';
  const promptScan = prompt ? scanPrompt(prompt, config) : NO_INJECTION;
  const argsScan = scanArgs(request.args, config, asksTheUser(request.action, x.tool?.entry));

  const flow = flowOf(session);
  const remembered = hashSet(flow.taint);
  const promptHashes = prompt ? taintHashes(prompt) : [];
  // A trusted prompt's values are trusted data; an untrusted one's are tainted.
  const promptTrusted = config.taint.user_prompt === 'trusted';
  const trustedMemory = flow.trusted ? hashSet(flow.trusted) : NOTHING_TRUSTED;
  const fromPrompt = new Set(promptHashes);
  const isTrusted = (h: string) => trustedMemory.has(h) || (promptTrusted && fromPrompt.has(h));
  const isTainted = (h: string) => remembered.has(h) || (!promptTrusted && fromPrompt.has(h));
  const sensitive = sensitiveArgNames(x.tool, config);
  const taintedArgs = sensitive.size ? taintedArguments(request.args, sensitive, isTainted, isTrusted) : [];

  const external = x.externalVerdict;
  const newSources: string[] = [];
  if (promptScan.suspicious) newSources.push('prompt');
  if (argsScan.suspicious) newSources.push('args');
  if (external?.suspicious) newSources.push('classifier');
  const tainted = (session?.tainted ?? false) || newSources.length > 0;
  const sources = newSources.reduce((list, s) => pushBounded(list, s, SOURCES_LIMIT, true), flow.untrusted);
  const privateData = flow.privateReads.length > 0;
  // After untrusted content, an external effect towards an identifier never seen in trusted data.
  const actsOutside = tainted && hasExternalEffect(request.tool, config);
  const counterparties = actsOutside ? newCounterparties(request.args, isTrusted) : [];
  const destinationTrusted = actsOutside && counterparties.length === 0 && counterpartyTokens(request.args).length > 0;
  const trifecta = lethalTrifecta({ privateData, untrustedContent: tainted, tool: request.tool, destinationTrusted }, config);

  request.signals = {
    // external: the classifier outside Warden (guards.injection.external), when one is configured.
    injection: { prompt: promptScan, args: argsScan, ...(external ? { external } : {}) },
    // injected: the tool results of this session in which an injection was found (guard-injection/act-after-injection).
    taint: { session: tainted, sensitive_args: taintedArgs, sources, injected: flow.injected ?? [] },
    trifecta,
    counterparty: { new: counterparties },
  };
  if (request.session) request.session = { ...request.session, tainted };

  const explained = explain({ prompt: promptScan, args: argsScan }, taintedArgs, tainted ? sources : [], trifecta, counterparties, external);
  if (explained) x.details.signals = redactor.redact(explained) as JsonObject;

  if (!session || (promptHashes.length === 0 && newSources.length === 0)) return session;
  const taint = promptTrusted ? flow.taint : rememberHashes(flow.taint, promptHashes, config.taint.max_values);
  const trusted = promptTrusted ? rememberHashes(flow.trusted ?? [], promptHashes, config.taint.max_values) : flow.trusted;
  if (taint === flow.taint && trusted === flow.trusted && sources.length === flow.untrusted.length && tainted === session.tainted) return session;
  // The memories are not copied: a copy would lose the set rememberHashes handed on (taint.ts hashSet).
  return { ...session, tainted, flow: { ...flow, taint, untrusted: sources, ...(trusted ? { trusted } : {}) } };
}

/** Only what was found, for the decision log: nothing when the guards saw nothing. */
function explain(injection: Record<string, InjectionSignal>, taintedArgs: string[], sources: string[], trifecta: boolean, counterparties: string[], external: ExternalVerdict | undefined): JsonObject | undefined {
  const out: JsonObject = {};
  const found = Object.entries(injection).filter(([, s]) => s.findings.length > 0);
  if (found.length) out.injection = Object.fromEntries(found);
  // Asked and answered nothing of note: not worth a record's bytes.
  if (external && (external.suspicious || external.status === 'error')) out.external = external;
  if (taintedArgs.length) out.taint = { sensitive_args: taintedArgs, sources };
  else if (sources.length) out.taint = { sources };
  if (trifecta) out.trifecta = true;
  if (counterparties.length) out.counterparty = { new: counterparties };
  return Object.keys(out).length ? out : undefined;
}

/** What a tool's result teaches its session: untrusted content and its values, when it taints. */
export interface ResultLesson {
  taints: boolean;
  source: string;
  hashes: string[];
  /** Counterparties named in a result that does not taint (a trusted tool's): trusted data. */
  trusted: string[];
  /** The injection guard's scan of the result (what result-treatment.ts acts on). */
  scan: InjectionSignal;
}

/**
 * After a tool ran: a result from an untrusted tool, or one the injection guard flags (indirect
 * injection), taints the session and its values. A flagged result is explained in the outcome
 * record (`details.signals.result`).
 */
export function inspectResult(x: Exchange, result: JsonValue | undefined, config: GuardsConfig, redactor: Redactor, external?: ExternalVerdict): ResultLesson {
  const ownScan = result !== undefined && config.injection.scan_results ? scanResult(result, config, asksTheUser(x.call.action, x.tool?.entry)) : NO_INJECTION;
  const resultScan = withExternalFindings(ownScan, external);
  if (resultScan.findings.length) {
    const signals = (x.details.signals ?? {}) as JsonObject;
    x.details.signals = { ...signals, result: redactor.redact(resultScan) };
  }
  // A result the external classifier could not judge is content nobody vouched for: untrusted.
  const unjudged = external?.status === 'error';
  if (unjudged) x.details.signals = { ...((x.details.signals ?? {}) as JsonObject), resultExternal: external };
  const taints = result !== undefined && (isUntrustedSource(x.tool?.entry, config) || resultScan.suspicious || unjudged);
  const source = `result:${x.call.tool}`;
  if (taints && x.call.sessionId) {
    x.details.sessionTainted = resultScan.suspicious ? `${source}: injection found in the result` : unjudged ? `${source}: the external classifier could not judge it` : `${source}: untrusted tool output`;
  }
  // The values a result teaches (tainted, or trusted counterparties) are kept by its session alone
  // (withExecution): a call without one, or a dry run, has nowhere to keep them. Finding and
  // hashing a result's tokens was ~4% of a session-less tool call's CPU in bench/http.
  const remembered = Boolean(x.call.sessionId) && !x.dryRun;
  return {
    taints,
    source,
    hashes: taints && remembered ? resultHashes(result) : [],
    trusted: remembered && !taints && result !== undefined ? counterpartyTokens(result).map(tokenHash) : [],
    scan: resultScan,
  };
}

/**
 * The session after an executed call: the call joins its history (what sequence rules look at),
 * a tainting result taints it, and a tool that reads private data is remembered (the trifecta's
 * first leg).
 */
export function withExecution(x: Exchange, stored: SessionRecord, lesson: ResultLesson, config: GuardsConfig): SessionRecord {
  const entry = x.tool?.entry;
  let session = withExecutedCall(stored, { tool: x.call.tool, effect: entry?.effect, risk: entry?.risk, at: new Date(x.now).toISOString() });
  const flow = flowOf(session);
  if (lesson.taints) {
    session = {
      ...session,
      tainted: true,
      flow: {
        ...flow,
        taint: rememberHashes(flow.taint, lesson.hashes, config.taint.max_values),
        untrusted: pushBounded(flow.untrusted, lesson.source, SOURCES_LIMIT, true),
        ...(lesson.scan.suspicious ? { injected: pushBounded(flow.injected ?? [], lesson.source, SOURCES_LIMIT, true) } : {}),
      },
    };
  }
  if (lesson.trusted.length) {
    const f = flowOf(session);
    const trusted = rememberHashes(f.trusted ?? [], lesson.trusted, config.taint.max_values);
    if (trusted !== f.trusted) session = { ...session, flow: { ...f, trusted } };
  }
  if (readsPrivateData(entry, config)) {
    const f = flowOf(session);
    session = { ...session, flow: { ...f, privateReads: pushBounded(f.privateReads, x.call.tool, SOURCES_LIMIT, true) } };
  }
  return session;
}

/** The session after a denial: it joins the session's denials (what `denials_within` counts). */
export function withDenialAt(x: Exchange, session: SessionRecord): SessionRecord {
  return withDenial(session, new Date(x.now).toISOString());
}
