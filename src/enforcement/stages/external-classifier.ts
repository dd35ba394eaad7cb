import type { Redactor } from '../../audit/redact.js';
import type { GuardsConfig } from '../../config/index.js';
import { bounded, classifyTexts, textsOf, type ClassifiedText, type ExternalClassifier, type ExternalVerdict } from '../../guards/external-classifier.js';
import { asksTheUser, type InjectionSignal } from '../../guards/injection-guard.js';
import type { JsonObject, JsonValue } from '../../model/json.js';
import type { Exchange } from '../exchange.js';
import type { Telemetry } from '../telemetry.js';

/** `guards.injection.external`, configured: the classifier and what it is asked about. */
export interface ExternalClassifierDeps {
  client: Pick<ExternalClassifier, 'classify'>;
  config: NonNullable<GuardsConfig['injection']['external']>;
  /** What the decision log masks (secrets, personal data) is masked in what the classifier is sent. */
  redactor: Pick<Redactor, 'redactText'>;
  telemetry: Pick<Telemetry, 'classifierRequest'>;
}

/** Asks about `texts` (bounded and masked), and counts the request when one is made. */
async function ask(texts: ClassifiedText[], deps: ExternalClassifierDeps, requestId: string): Promise<ExternalVerdict> {
  const sent = prepared(texts, deps);
  const started = performance.now();
  const verdict = await classifyTexts(deps.client, sent, deps.config.threshold, requestId);
  if (verdict.status !== 'skipped') deps.telemetry.classifierRequest(verdict.status, (performance.now() - started) / 1e3);
  return verdict;
}

/** The texts as sent: bounded, and masked as the decision log masks them. */
function prepared(texts: ClassifiedText[], deps: ExternalClassifierDeps): ClassifiedText[] {
  return bounded(texts, { maxTexts: deps.config.max_texts, maxChars: deps.config.max_chars }).map((t) => ({ ...t, text: deps.redactor.redactText(t.text) }));
}

/**
 * Stage 6, its I/O part: the external classifier on the call's inputs, before the session and
 * the guards' signals (addSignals puts the verdict in `signals.injection.external`). What the
 * built-in detector judges by its rules alone is not sent: a prompt the authenticated user wrote
 * (`guards.taint.user_prompt: trusted`), an upstream's question for the user (asksTheUser).
 */
export async function classifyCall(x: Exchange, context: JsonObject | undefined, deps: ExternalClassifierDeps, guards: GuardsConfig): Promise<ExternalVerdict> {
  const { config } = deps;
  const texts: ClassifiedText[] = [];
  const prompt = context?.userPrompt;
  if (config.scan.includes('prompt') && typeof prompt === 'string' && prompt !== '' && guards.taint.user_prompt !== 'trusted') texts.push({ source: 'prompt', path: 'prompt', text: prompt });
  if (config.scan.includes('args') && x.args && !asksTheUser(x.call.action, x.tool?.entry)) texts.push(...textsOf(x.args, 'args', 'args'));
  return ask(texts, deps, x.requestId);
}

/** The external classifier on a tool's result, before the guards inspect it (inspectResult). */
export async function classifyResult(x: Exchange, result: JsonValue | undefined, deps: ExternalClassifierDeps, guards: GuardsConfig): Promise<ExternalVerdict | undefined> {
  if (result === undefined || !guards.injection.scan_results || !deps.config.scan.includes('results') || asksTheUser(x.call.action, x.tool?.entry)) return undefined;
  const verdict = await ask(textsOf(result, 'result', 'result'), deps, x.requestId);
  return verdict.status === 'skipped' ? undefined : verdict;
}

/** A scan with what the external classifier flagged added as findings (kind `external_classifier`). */
export function withExternalFindings(scan: InjectionSignal, verdict: ExternalVerdict | undefined): InjectionSignal {
  if (!verdict?.suspicious) return scan;
  const found = verdict.flagged.map((path) => ({ kind: 'external_classifier', score: verdict.score, detail: 'flagged by the external classifier', offset: 0, path }));
  return {
    score: Math.max(scan.score, verdict.score),
    suspicious: true,
    critical: scan.critical,
    kinds: [...new Set([...scan.kinds, 'external_classifier'])].sort(),
    findings: [...scan.findings, ...found].slice(0, 10),
  };
}
