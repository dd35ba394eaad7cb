import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../src/surfaces/cli/commands/demo.js';
import { serve } from '../../src/surfaces/http/serve.js';
import { startToolServer, type ToolServer } from '../../examples/tools/tool-server.mjs';

/**
 * The README's five-minute tour, run as written: every `curl` of its shell blocks, through bash,
 * against a fresh gateway with the example config — and then once more, because a reader re-runs
 * a tour. Only the host is changed (free ports) and `apr_…` is filled in from the answer that
 * printed it.
 */
const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

function tourCommands(): string[] {
  const start = README.indexOf('## A five-minute tour');
  const section = README.slice(start, README.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('curl '));
}

interface Answer {
  command: string;
  status: number;
  body: Record<string, unknown>;
}

function bash(command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', command], (error, stdout, stderr) => (error ? reject(new Error(`${command}\n${stderr}`)) : resolve(stdout))),
  );
}

let dir: string;
let tools: ToolServer;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-tour-'));
  tools = await startToolServer({ port: 0, token: 'example-tools-token' });
  server = await serve(demoConfig(dir, tools.url), { port: 0, logger: false });
});
afterAll(async () => {
  await server?.close();
  await tools?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function runTour(): Promise<Answer[]> {
  const host = new URL(server.url).host;
  const answers: Answer[] = [];
  let approvalId: string | undefined;
  for (const line of tourCommands()) {
    if (line.includes('apr_…') && !approvalId) throw new Error(`no approval id printed before: ${line}`);
    const command = `${line.replaceAll('localhost:8080', host).replaceAll('apr_…', approvalId ?? '')} -w '\\n%{http_code}'`;
    const out = await bash(command);
    const status = Number(out.slice(out.lastIndexOf('\n') + 1));
    const body = JSON.parse(out.slice(0, out.lastIndexOf('\n'))) as Record<string, unknown>;
    if (typeof body.approval_id === 'string') approvalId = body.approval_id;
    answers.push({ command: line, status, body });
  }
  return answers;
}

const refundsExecuted = async () =>
  ((await (await fetch(`${tools.url}/_calls`)).json()) as { calls: Array<{ tool: string }> }).calls.filter((c) => c.tool === 'issue_refund').length;

describe("the README's tour", () => {
  it('works as written, and again when re-run: fresh request ids, the held refund runs once', async () => {
    expect(tourCommands().length).toBeGreaterThanOrEqual(6);
    const first = await runTour();
    const status = (answers: Answer[], fragment: string) => answers.find((a) => a.command.includes(fragment))!.status;
    expect(first.map((a) => a.status)).not.toContain(409);
    expect(status(first, 'read_orders')).toBe(200);
    expect(status(first, 'issue_refund')).toBe(202);
    expect(status(first, '/approve')).toBe(200);
    expect(first.every((a) => a.status < 300)).toBe(true);
    expect(await refundsExecuted()).toBe(1);

    const again = await runTour();
    expect(again.find((a) => a.command.includes('issue_refund'))!.body).not.toHaveProperty('type', expect.stringContaining('replay'));
    expect(status(again, 'read_orders')).toBe(200);
    // The same refund, retried: its approval's stored result, not a second refund.
    expect(status(again, 'issue_refund')).toBe(200);
    expect(again.find((a) => a.command.includes('issue_refund'))!.body).toMatchObject({ status: 'executed' });
    expect(status(again, '/approve')).toBe(409);
    expect(await refundsExecuted()).toBe(1);
  });
});
