import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { ChainVerifier } from '../../src/audit/hash-chain.js';
import { createWarden, type Warden } from '../../src/services/warden.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { buildServer } from '../../src/surfaces/http/server.js';

const POLICY = `id: sink-tests
version: 1
rules:
  - id: bot-echoes
    effect: allow
    tools: [echo]
    when: "'bot' in agent.roles"
`;

/** One Warden on a SQLite file in `dir` (kept across restarts), with its HTTP API for /metrics and /readyz. */
export interface SinkWarden {
  warden: Warden;
  base: string;
  /** What Warden logged (level: message). */
  logs: string[];
  /** Makes `n` calls through the real pipeline: one decision record each. */
  calls(n: number): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;

/** `storage` replaces the SQLite file (with `postgres://…`, give `redis:` in `extraConfig`). */
export async function startSinkWarden(dir: string, extraConfig: string, storage = 'sqlite:./warden.db'): Promise<SinkWarden> {
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'sink-tests.yaml'), POLICY);
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: "${storage}"
policies: ./policies
server: { watch_policies: false }
incidents: { on_policy_deny: false }
agents:
  - { id: bot, roles: [bot], tenant: acme, trust: medium }
${extraConfig}`,
  );
  const logs: string[] = [];
  const warden = await createWarden({ config: join(dir, 'warden.yaml'), log: (level, message) => logs.push(`${level}: ${message}`) });
  const echo = warden.guard(async (args: { n: number }) => ({ echoed: args.n }), { name: 'echo', effect: 'read', risk: 'low' }, { agentId: 'bot', tenant: 'acme' });
  const app: FastifyInstance = await buildServer(warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    warden,
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    logs,
    async calls(n) {
      for (let i = 0; i < n; i++) await echo({ n: ++counter });
      // Read decisions are written a moment later (group commit): make them durable before looking.
      await warden.recorder.log.flush();
    },
    async close() {
      await app.close();
      await warden.close();
    },
  };
}

/** Polls `check` until it holds; a check that throws is tried again (no timing is asserted: the bound only ends a hung test). */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      // Read while being written (a file mid-rotation): look again.
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every seq from 1 to `head` arrived; arrivals never skipped ahead; a seq that came twice came with the same id and hash; the deduplicated records form a verified chain. */
export function expectComplete(arrivals: readonly DecisionRecord[], head: number): { duplicates: number } {
  let highest = 0;
  const bySeq = new Map<number, DecisionRecord>();
  let duplicates = 0;
  for (const r of arrivals) {
    expect(r.seq, `record #${r.seq} arrived after #${highest} (a gap)`).toBeLessThanOrEqual(highest + 1);
    highest = Math.max(highest, r.seq);
    const seen = bySeq.get(r.seq);
    if (seen) {
      duplicates++;
      expect({ id: r.id, hash: r.hash }).toEqual({ id: seen.id, hash: seen.hash });
    } else bySeq.set(r.seq, r);
  }
  const unique = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  expect(unique.map((r) => r.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  expect(new ChainVerifier().check(unique)).toEqual([]);
  return { duplicates };
}

export const metric = async (base: string, name: string, sink: string): Promise<number | undefined> => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = new RegExp(`^${name}\\{sink="${sink}"\\} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
};

export const readyz = async (base: string) => {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, json: (await response.json()) as { status: string; checks: Record<string, { ok: boolean; degraded?: boolean; detail?: string; errors?: string[] }> } };
};

/** A real HTTP receiver: answers `fail` (then 200) and keeps what it acknowledged. */
export class Receiver {
  server?: Server;
  port = 0;
  requests = 0;
  /** Answer this many requests with `failStatus` before acknowledging. */
  failNext = 0;
  failStatus = 503;
  readonly bodies: Array<{ url: string; headers: IncomingMessage['headers']; body: string }> = [];

  async start(port = this.port): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      if (this.failNext > 0) {
        this.failNext--;
        res.writeHead(this.failStatus).end('try later');
        return;
      }
      this.bodies.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  }
}
