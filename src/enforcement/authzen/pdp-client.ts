import { Pool } from 'undici';
import type { AuthzenDecision } from '../../model/authzen.js';
import { readLimited, timedOut } from '../../lib/http-answer.js';
import { isJsonObject, type JsonObject } from '../../model/json.js';
import { effectiveEvaluations, type AuthzenRequest } from './coaz-anchors.js';
import { PdpCommunicationError } from './coaz-errors.js';

/** One decision of an AuthZEN PDP, as it answered. */
export type PdpDecision = AuthzenDecision;

export interface AuthzenPdpOptions {
  /** Base URL of the PDP; `/access/v1/evaluation(s)` is appended unless the path already ends in `/access/v1`. */
  url: string;
  /** The bearer credential, resolved when a request is made (rotations are picked up). */
  credential?: () => Promise<string>;
  timeoutMs: number;
  /** Connections kept to the PDP. */
  connections?: number;
  /** Largest answer read, in bytes. */
  maxResponseBytes?: number;
}

const PATHS = { evaluation: 'evaluation', evaluations: 'evaluations' } as const;

/**
 * An AuthZEN Authorization API 1.0 client (HTTPS JSON binding): POST the request, read
 * `{decision}` or `{evaluations: [{decision}]}`. Anything else — no answer within the timeout, a
 * non-200 status, a body that is not JSON, a decision that is not a boolean, a count that does
 * not match — is a PdpCommunicationError, which the PEP turns into a deny (fail closed).
 * undici's pool keeps connections to the PDP alive between calls.
 */
export class AuthzenPdpClient {
  private readonly pool: Pool;
  private readonly basePath: string;

  constructor(private readonly options: AuthzenPdpOptions) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { connections: options.connections ?? 16, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    const path = url.pathname.replace(/\/+$/, '');
    this.basePath = path.endsWith('/access/v1') ? path : `${path}/access/v1`;
  }

  /**
   * The decisions for a request, in the order of its evaluations (one for `evaluation`). A PDP
   * without the Access Evaluations API (404) is asked one Access Evaluation per entry, with the
   * top-level defaults applied (COAZ framework, "Constructing the AuthZEN Request"), stopping at
   * the first deny. One deadline (`timeoutMs`) covers every request of a call.
   */
  async evaluate(request: AuthzenRequest, requestId: string): Promise<PdpDecision[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': requestId.replace(/[^\x20-\x7e]/g, '_') };
    if (this.options.credential) {
      let credential: string;
      try {
        credential = await this.options.credential();
      } catch (error) {
        throw new PdpCommunicationError(`its credential could not be resolved: ${(error as Error).message}`);
      }
      headers.authorization = `Bearer ${credential}`;
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const first = await this.post(PATHS[request.envelope], request.body, headers, signal);
    if (request.envelope === 'evaluations' && first.status === 404) {
      const decisions: PdpDecision[] = [];
      for (const evaluation of effectiveEvaluations(request)) {
        const one = await this.post(PATHS.evaluation, evaluation, headers, signal);
        const [decision] = parseAnswer(expectOk(one), { envelope: 'evaluation', body: evaluation });
        decisions.push(decision!);
        if (!decision!.decision) break;
      }
      return decisions;
    }
    return parseAnswer(expectOk(first), request);
  }

  private async post(endpoint: string, body: JsonObject, headers: Record<string, string>, signal: AbortSignal): Promise<{ path: string; status: number; text: string }> {
    const path = `${this.basePath}/${endpoint}`;
    try {
      const response = await this.pool.request({ path, method: 'POST', headers, body: JSON.stringify(body), signal });
      return { path, status: response.statusCode, text: await readLimited(response.body, this.options.maxResponseBytes ?? 65_536, () => new PdpCommunicationError(`its answer is larger than ${this.options.maxResponseBytes ?? 65_536} bytes`)) };
    } catch (error) {
      if (error instanceof PdpCommunicationError) throw error;
      const e = error as Error & { code?: string };
      throw new PdpCommunicationError(timedOut(e) ? `no answer within ${this.options.timeoutMs} ms` : `unreachable (${e.code ?? e.message})`);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function expectOk(answer: { path: string; status: number; text: string }): string {
  if (answer.status !== 200) throw new PdpCommunicationError(`${answer.path} answered HTTP ${answer.status}`);
  return answer.text;
}

function decisionOf(value: unknown, where: string): PdpDecision {
  if (!isJsonObject(value as never)) throw new PdpCommunicationError(`${where} is not an object`);
  const { decision, context } = value as { decision?: unknown; context?: unknown };
  // Only a literal boolean is a decision: "true", 1 or a missing field are malformed, never a permit.
  if (typeof decision !== 'boolean') throw new PdpCommunicationError(`${where}.decision is ${decision === undefined ? 'missing' : `not a boolean (${JSON.stringify(decision)})`}`);
  if (context !== undefined && !isJsonObject(context as never)) throw new PdpCommunicationError(`${where}.context is not an object`);
  return { decision, ...(context !== undefined ? { context: context as JsonObject } : {}) };
}

function parseAnswer(text: string, request: AuthzenRequest): PdpDecision[] {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new PdpCommunicationError('its answer is not JSON');
  }
  if (request.envelope === 'evaluation') return [decisionOf(answer, 'the answer')];
  const list = isJsonObject(answer as never) ? (answer as { evaluations?: unknown }).evaluations : undefined;
  if (!Array.isArray(list)) throw new PdpCommunicationError('its answer has no "evaluations" array');
  const asked = request.body.evaluations.length;
  if (list.length !== asked) throw new PdpCommunicationError(`it answered ${list.length} decisions for ${asked} evaluations`);
  return list.map((d, i) => decisionOf(d, `evaluations[${i}]`));
}
