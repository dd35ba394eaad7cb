import { EXIT } from './usage-error.js';

/** An RFC 9457 problem as the gateway answers it (type, title, status, detail and extras). */
export interface GatewayProblem {
  type?: string;
  title?: string;
  status: number;
  detail: string;
  [extra: string]: unknown;
}

export type GatewayAnswer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; problem: GatewayProblem };

/** The gateway could not be reached at all (nothing was changed by this command). */
export class GatewayUnreachable extends Error {}

/** Long enough for an approval whose quorum runs the tool (tool timeouts default to 10–60 s). */
const REQUEST_TIMEOUT_MS = 120_000;

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is `warden serve` running there?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/**
 * The running gateway's HTTP API, called with a person's bearer token. The token goes into the
 * Authorization header and nowhere else: it is scrubbed from anything this client prints.
 */
export class GatewayClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async send<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<GatewayAnswer<T>> {
    const target = new URL(path, `${this.url.replace(/\/+$/, '')}/`);
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new GatewayUnreachable(this.scrub(`cannot reach the gateway at ${this.url}: ${why(error)}; check --url or WARDEN_URL`));
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok) return { ok: true, status: response.status, body: json as T };
    const problem = json !== null && typeof json === 'object' && typeof (json as GatewayProblem).detail === 'string'
      ? (json as GatewayProblem)
      : { status: response.status, detail: `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}` };
    return { ok: false, status: response.status, problem };
  }

  /**
   * Prints why the gateway refused, as problem+json said it, and returns the exit code (1).
   * `needs` says what the command takes (a role), for a 403.
   */
  refused(problem: GatewayProblem, needs: string): number {
    const print = (line: string) => console.error(this.scrub(line));
    if (problem.status === 401) {
      print(`error: the gateway at ${this.url} did not accept the token (401): ${problem.detail}`);
      print('hint: put a valid token of yours in WARDEN_TOKEN or a file given with --token-file');
      return EXIT.problems;
    }
    print(`error: refused (${problem.status}${problemName(problem) ? ` ${problemName(problem)}` : ''}): ${problem.detail}`);
    for (const [key, value] of Object.entries(problem)) {
      if (['type', 'title', 'status', 'detail'].includes(key)) continue;
      print(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    }
    if (problem.status === 403) print(`hint: ${needs}`);
    return EXIT.problems;
  }

  private scrub(text: string): string {
    return this.token.length >= 4 ? text.split(this.token).join('[token]') : text;
  }
}

/** The short name of a problem: the last segment of its type (`missing-role`). */
export function problemName(problem: GatewayProblem): string | undefined {
  const slug = problem.type?.split('/').pop();
  return slug && slug !== 'about:blank' ? slug : undefined;
}

function why(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  const code = e?.cause?.code;
  if (code && CONNECT_ERRORS[code]) return CONNECT_ERRORS[code]!;
  return e?.cause?.message ?? e?.message ?? String(error);
}
