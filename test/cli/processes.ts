import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds first), run as an operator would run it. */
export const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `warden …` in its own process with `env` added to this one's (never the caller's own
 * WARDEN_URL / WARDEN_TOKEN: a test says which gateway and token it means).
 */
export function runWarden(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { WARDEN_URL: _url, WARDEN_TOKEN: _token, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface Gateway {
  url: string;
  /** Everything the gateway process wrote (its request log included). */
  output(): string;
  /** SIGTERM, then waits for the process to finish writing the decision log and exit. */
  stop(): Promise<number | null>;
}

/** A real `warden serve` on 127.0.0.1 (a free port), logging requests at info. */
export async function startGateway(config: string): Promise<Gateway> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then((code) => reject(new Error(`warden serve exited ${code}: ${output}`)));
  });
  let stopping: Promise<number | null> | undefined;
  return {
    url,
    output: () => output,
    stop() {
      stopping ??= (child.kill('SIGTERM'), exited);
      return stopping;
    },
  };
}
