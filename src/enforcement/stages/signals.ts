import { NO_INJECTION, scanArgs, scanPrompt, scanResult, type InjectionSignal } from '../../guards/injection-guard.js';
import { flowOf, pushBounded, SOURCES_LIMIT, withDenial, withExecutedCall } from '../../guards/sequence.js';
import { isUntrustedSource, readsPrivateData, rememberHashes, sensitiveArgNames, taintedArguments, taintHashes } from '../../guards/taint.js';
import { lethalTrifecta } from '../../guards/trifecta.js';
import type { ActionRequest } from '../../model/action-request.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { SessionRecord } from '../../store/records.js';
import type { Exchange } from '../exchange.js';
import type { Runtime } from '../runtime.js';

/**
 * Stage 6: signals. The guards look at the call (the user prompt, the arguments, the session's
 * taint and history) and say what they see in `request.signals`; the policy decides what to do.
 * Every finding is also copied into the decision record (`details.signals`).
 *
 *   signals.injection.prompt / .args  { score, suspicious, critical, kinds, findings }
 *   signals.taint                     { session, sensitive_args, sources }
 *   signals.trifecta                  private data read + untrusted content seen + external tool
 *
 * What the call teaches the session (values from the prompt are untrusted; an injection in the
 * prompt or the arguments means the session has seen untrusted content) is written under the
 * session's lock, only when something changed.
 */
export async function addSignals(x: Exchange, rt: Runtime, request: ActionRequest, session: SessionRecord | undefined): Promise<void> {
  const config = rt.config.guards;
  const prompt = typeof request.context.userPrompt === 'string' ? request.context.userPrompt : '';
  const promptScan = prompt ? scanPrompt(prompt, config) : NO_INJECTION;
  const argsScan = scanArgs(request.args, config);

  const flow = flowOf(session);
  const remembered = new Set(flow.taint);
  const promptHashes = prompt ? taintHashes(prompt) : [];
  const fromPrompt = new Set(promptHashes);
  const sensitive = sensitiveArgNames(x.tool, config);
  const taintedArgs = sensitive.size ? taintedArguments(request.args, sensitive, (h) => fromPrompt.has(h) || remembered.has(h)) : [];

  const newSources: string[] = [];
  if (promptScan.suspicious) newSources.push('prompt');
  if (argsScan.suspicious) newSources.push('args');
  const tainted = (session?.tainted ?? false) || newSources.length > 0;
  const sources = newSources.reduce((list, s) => pushBounded(list, s, SOURCES_LIMIT, true), flow.untrusted);
  const privateData = flow.privateReads.length > 0;
  const trifecta = lethalTrifecta({ privateData, untrustedContent: tainted, tool: request.tool }, config);

  request.signals = {
    injection: { prompt: promptScan, args: argsScan },
    taint: { session: tainted, sensitive_args: taintedArgs, sources },
    trifecta,
  };
  if (request.session) request.session = { ...request.session, tainted };

  const explained = explain({ prompt: promptScan, args: argsScan }, taintedArgs, tainted ? sources : [], trifecta);
  if (explained) x.details.signals = rt.redactor.redact(explained) as JsonObject;

  if (session) await learn(rt, session.id, promptHashes, newSources);
}

/** Only what was found, for the decision log: nothing when the guards saw nothing. */
function explain(injection: Record<string, InjectionSignal>, taintedArgs: string[], sources: string[], trifecta: boolean): JsonObject | undefined {
  const out: JsonObject = {};
  const found = Object.entries(injection).filter(([, s]) => s.findings.length > 0);
  if (found.length) out.injection = Object.fromEntries(found);
  if (taintedArgs.length) out.taint = { sensitive_args: taintedArgs, sources };
  else if (sources.length) out.taint = { sources };
  if (trifecta) out.trifecta = true;
  return Object.keys(out).length ? out : undefined;
}

/** Remembers the prompt's values as tainted, and untrusted content seen; writes only on change. */
async function learn(rt: Runtime, sessionId: string, promptHashes: string[], newSources: string[]): Promise<void> {
  if (promptHashes.length === 0 && newSources.length === 0) return;
  await rt.sessionLocks.run(sessionId, async () => {
    const session = await rt.store.getSession(sessionId);
    if (!session) return;
    const flow = flowOf(session);
    const taint = rememberHashes(flow.taint, promptHashes, rt.config.guards.taint.max_values);
    const untrusted = newSources.reduce((list, s) => pushBounded(list, s, SOURCES_LIMIT, true), flow.untrusted);
    const tainted = session.tainted || newSources.length > 0;
    if (taint === flow.taint && untrusted.length === flow.untrusted.length && tainted === session.tainted) return;
    await rt.store.putSession({ ...session, tainted, flow: { ...flow, taint: [...taint], untrusted }, updatedAt: rt.clock() });
  });
}

/**
 * After a tool ran: the call joins the session's history (what sequence rules look at); a result
 * from an untrusted tool, or one the injection guard flags (indirect injection), taints the
 * session and its values; a tool that reads private data is remembered (the trifecta's first leg).
 * A flagged result is explained in the outcome record (`details.signals.result`).
 */
export async function observeExecution(x: Exchange, rt: Runtime, result: JsonValue | undefined): Promise<void> {
  const config = rt.config.guards;
  const entry = x.tool?.entry;
  const resultScan = result !== undefined && config.injection.scan_results ? scanResult(result, config) : NO_INJECTION;
  if (resultScan.findings.length) {
    const signals = (x.details.signals ?? {}) as JsonObject;
    x.details.signals = { ...signals, result: rt.redactor.redact(resultScan) };
  }
  const untrustedTool = isUntrustedSource(entry, config);
  const taints = result !== undefined && (untrustedTool || resultScan.suspicious);
  const source = `result:${x.call.tool}`;
  const hashes = taints ? taintHashes(result) : [];
  const sessionId = x.call.sessionId;
  if (!sessionId) return;
  await rt.sessionLocks.run(sessionId, async () => {
    const stored = await rt.store.getSession(sessionId);
    if (!stored) return;
    let session = withExecutedCall(stored, { tool: x.call.tool, effect: entry?.effect, risk: entry?.risk, at: new Date(x.now).toISOString() });
    const flow = flowOf(session);
    if (taints) {
      session = {
        ...session,
        tainted: true,
        flow: { ...flow, taint: [...rememberHashes(flow.taint, hashes, config.taint.max_values)], untrusted: pushBounded(flow.untrusted, source, SOURCES_LIMIT, true) },
      };
    }
    if (readsPrivateData(entry, config)) {
      const f = flowOf(session);
      session = { ...session, flow: { ...f, privateReads: pushBounded(f.privateReads, x.call.tool, SOURCES_LIMIT, true) } };
    }
    await rt.store.putSession({ ...session, updatedAt: rt.clock() });
  });
  if (taints) x.details.sessionTainted = resultScan.suspicious ? `${source}: injection found in the result` : `${source}: untrusted tool output`;
}

/** A denied call joins the session's denials (what `denials_within` counts). */
export async function observeDenial(x: Exchange, rt: Runtime): Promise<void> {
  const sessionId = x.call.sessionId;
  if (!sessionId || !x.agent) return;
  await rt.sessionLocks.run(sessionId, async () => {
    const session = await rt.store.getSession(sessionId);
    if (session) await rt.store.putSession({ ...withDenial(session, new Date(x.now).toISOString()), updatedAt: rt.clock() });
  });
}
