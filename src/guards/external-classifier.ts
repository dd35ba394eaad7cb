import { Pool } from 'undici';
import { readLimited, timedOut } from '../lib/http-answer.js';
import type { JsonObject, JsonValue } from '../model/json.js';
import { childPath, worthScanning } from './injection/scan.js';

/**
 * An injection classifier outside Warden (`guards.injection.external`), asked over HTTP beside
 * the built-in detector: a model too large to ship, or one an organisation already runs. Off by
 * default. Its answer is a signal (`signals.injection.external`); what a failure means is the
 * built-in `guard-classifier` policy's to say, or a policy that replaces it.
 *
 * The wire (documented in the README, "An external classifier"):
 *   POST <url>   {"request_id": "…", "texts": [{"source": "prompt"|"args"|"result", "path": "args.body", "text": "…"}]}
 *   200          {"scores": [0.02, 0.97]}     one number in [0, 1] per text, in the order sent
 * Anything else — no answer within the timeout, another status, a body that is not JSON, a count
 * that does not match, a score that is not a number in [0, 1] — is an ExternalClassifierError.
 */
export class ExternalClassifierError extends Error {}

/** One text sent to the classifier: where it came from in the call. */
export interface ClassifiedText {
  source: 'prompt' | 'args' | 'result';
  /** `prompt`, or a JSON path from `args` / `result` (`args.body`, `result.items[2].text`). */
  path: string;
  text: string;
}

export interface ExternalClassifierOptions {
  url: string;
  /** The bearer credential, resolved when a request is made (rotations are picked up). */
  credential?: () => Promise<string>;
  timeoutMs: number;
  maxResponseBytes?: number;
}

/** The texts of a value worth a classifier's time (what the built-in detector would scan), with their paths as its findings write them. */
export function textsOf(value: JsonValue | undefined, source: 'args' | 'result', root: string): ClassifiedText[] {
  const found: ClassifiedText[] = [];
  const visit = (v: JsonValue | undefined, path: string, depth: number): void => {
    if (typeof v === 'string') {
      if (worthScanning(v)) found.push({ source, path, text: v });
    } else if (Array.isArray(v)) {
      if (depth < 32) v.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1));
    } else if (v !== null && typeof v === 'object' && depth < 32) {
      for (const key of Object.keys(v)) visit(v[key], childPath(path, key), depth + 1);
    }
  };
  visit(value, root, 0);
  return found;
}

/** At most maxTexts texts (the longest: where an injection has room), each cut to maxChars. */
export function bounded(texts: ClassifiedText[], { maxTexts, maxChars }: { maxTexts: number; maxChars: number }): ClassifiedText[] {
  const kept = texts.length > maxTexts ? [...texts].sort((a, b) => b.text.length - a.text.length).slice(0, maxTexts) : texts;
  return kept.map((t) => (t.text.length > maxChars ? { ...t, text: t.text.slice(0, maxChars) } : t));
}

export class ExternalClassifier {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(readonly options: ExternalClassifierOptions) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { connections: 16, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    this.path = `${url.pathname}${url.search}`;
  }

  /** One score in [0, 1] per text, in order; an empty list asks nothing. */
  async classify(texts: readonly ClassifiedText[], requestId: string): Promise<number[]> {
    if (texts.length === 0) return [];
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': requestId.replace(/[^\x20-\x7e]/g, '_') };
    if (this.options.credential) {
      try {
        headers.authorization = `Bearer ${await this.options.credential()}`;
      } catch (error) {
        throw new ExternalClassifierError(`its credential could not be resolved: ${(error as Error).message}`);
      }
    }
    const max = this.options.maxResponseBytes ?? 65_536;
    let status: number;
    let text: string;
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body: JSON.stringify({ request_id: requestId, texts }), signal: AbortSignal.timeout(this.options.timeoutMs) });
      status = response.statusCode;
      text = await readLimited(response.body, max, () => new ExternalClassifierError(`its answer is larger than ${max} bytes`));
    } catch (error) {
      if (error instanceof ExternalClassifierError) throw error;
      const e = error as Error & { code?: string };
      throw new ExternalClassifierError(timedOut(e) ? `no answer within ${this.options.timeoutMs} ms` : `unreachable (${e.code ?? e.message})`);
    }
    if (status !== 200) throw new ExternalClassifierError(`it answered HTTP ${status}`);
    return scoresOf(text, texts.length);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function scoresOf(text: string, expected: number): number[] {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new ExternalClassifierError('its answer is not JSON');
  }
  const scores = typeof answer === 'object' && answer !== null ? (answer as { scores?: unknown }).scores : undefined;
  if (!Array.isArray(scores)) throw new ExternalClassifierError('its answer has no "scores" array');
  if (scores.length !== expected) throw new ExternalClassifierError(`it answered ${scores.length} scores for ${expected} texts`);
  scores.forEach((s, i) => {
    // Only a number in [0, 1] is a score: "0.9", null or 7 is a malformed answer, never a pass.
    if (typeof s !== 'number' || !(s >= 0 && s <= 1)) throw new ExternalClassifierError(`scores[${i}] is not a number between 0 and 1 (${JSON.stringify(s)})`);
  });
  return scores as number[];
}

/** What the external classifier said about a call's inputs or a result: `signals.injection.external`. */
export interface ExternalVerdict extends JsonObject {
  /** `ok`: it answered; `error`: it could not be asked or answered nonsense; `skipped`: nothing worth asking. */
  status: 'ok' | 'error' | 'skipped';
  /** The highest score it gave (0 unless ok). */
  score: number;
  /** A text scored at or above the threshold. */
  suspicious: boolean;
  /** The paths of the texts it flagged (`prompt`, `args.body`, `result.items[0].text`). */
  flagged: string[];
  /** Why it failed (`error`; empty otherwise). */
  error: string;
}

const SKIPPED: ExternalVerdict = Object.freeze({ status: 'skipped', score: 0, suspicious: false, flagged: [], error: '' }) as ExternalVerdict;

/** Asks the classifier about `texts`; its failure is a verdict (`error`), never an exception. */
export async function classifyTexts(classifier: Pick<ExternalClassifier, 'classify'>, texts: readonly ClassifiedText[], threshold: number, requestId: string): Promise<ExternalVerdict> {
  if (texts.length === 0) return SKIPPED;
  try {
    const scores = await classifier.classify(texts, requestId);
    const flagged = texts.filter((_, i) => scores[i]! >= threshold).map((t) => t.path);
    return { status: 'ok', score: Math.round(Math.max(...scores) * 1000) / 1000, suspicious: flagged.length > 0, flagged, error: '' };
  } catch (error) {
    if (!(error instanceof ExternalClassifierError)) throw error;
    return { status: 'error', score: 0, suspicious: false, flagged: [], error: error.message };
  }
}
