import { readFileSync, statSync } from 'node:fs';
import { GatewayClient } from './gateway-client.js';
import { oneLine } from './text-output.js';
import { UsageError } from './usage-error.js';

/** The options every state-changing command takes (see operator-options.ts). */
export interface OperatorOptions {
  url?: string;
  tokenFile?: string;
  /** Refused: a token in argv shows in process listings and shell history. */
  token?: string;
  localAdmin?: boolean;
  /** With --local-admin: a label recorded beside the OS user. Grants nothing. */
  as?: string;
  config?: string;
}

/**
 * How a state-changing command acts: through the running gateway as the person its token stands
 * for (the default), or directly on this host's database as local admin (an explicit switch, in
 * local-admin.ts: loaded only then, since it loads all of Warden).
 */
export type OperatorMode = { kind: 'api'; gateway: GatewayClient } | { kind: 'local-admin'; config?: string; label?: string };

/** Refused for a state-changing command when neither --local-admin nor the gateway's address was given. */
function howTo(command: string): string {
  return [
    `say how \`warden ${command}\` should act:`,
    `  through the running gateway, as the person your token stands for (roles and tenant come from the token):`,
    `    WARDEN_URL=http://127.0.0.1:8080 WARDEN_TOKEN=<your token> warden ${command} …`,
    `    (or --url <url> with --token-file <file holding the token>)`,
    `  or directly on this host's database, as local admin of every tenant (recorded as local-admin and your OS user;`,
    `  refused when the config says cli: { local_admin: false }):`,
    `    warden ${command} … --local-admin [--config warden.yaml]`,
  ].join('\n');
}

/** Which way a command acts, from its options and the environment; a usage error when that is unclear. */
export function operatorMode(options: OperatorOptions, command: string, env: NodeJS.ProcessEnv = process.env): OperatorMode {
  if (options.token !== undefined) {
    throw new UsageError('--token is not accepted: a token on the command line shows in process listings and shell history; put it in WARDEN_TOKEN or in a file given with --token-file');
  }
  if (options.localAdmin) {
    if (options.url !== undefined || options.tokenFile !== undefined) throw new UsageError('--local-admin opens the database directly; it takes no --url or --token-file');
    return { kind: 'local-admin', config: options.config, ...(options.as?.trim() ? { label: oneLine(options.as.trim()) } : {}) };
  }
  const url = (options.url ?? env.WARDEN_URL ?? '').trim();
  if (url === '') throw new UsageError(howTo(command));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL (give the gateway's address, e.g. http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`the gateway's address must be http:// or https://, not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new UsageError("the gateway's address must not hold credentials; put your token in WARDEN_TOKEN or a file given with --token-file");
  const token = tokenFrom(options, env);
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname)) {
    console.error(`warning: your token is sent to ${parsed.host} over plain http; use https:// for a gateway on another host`);
  }
  if (options.config !== undefined) console.error('note: --config is only read with --local-admin; over the API the gateway uses its own');
  return { kind: 'api', gateway: new GatewayClient(url, token) };
}

function tokenFrom(options: OperatorOptions, env: NodeJS.ProcessEnv): string {
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.tokenFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the token file ${options.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // As ssh does for keys: a token others on the host can read is theirs too.
    if (process.platform !== 'win32' && (statSync(options.tokenFile).mode & 0o077) !== 0) {
      console.error(`warning: ${options.tokenFile} can be read by other users of this host; chmod 600 it`);
    }
    const token = text.trim();
    if (token === '') throw new UsageError(`the token file ${options.tokenFile} is empty`);
    return token;
  }
  const token = (env.WARDEN_TOKEN ?? '').trim();
  if (token === '') throw new UsageError('no token to act with: set WARDEN_TOKEN, or pass --token-file <file>, with your own token (from humans.tokens or your identity provider)');
  return token;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Options a command no longer believes: each is named on standard error, and ignored. */
export function noteIgnored(notes: Array<[given: boolean, note: string]>): void {
  for (const [given, note] of notes) if (given) console.error(`note: ${note}`);
}
