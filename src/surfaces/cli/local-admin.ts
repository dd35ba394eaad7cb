import { userInfo } from 'node:os';
import type { Human } from '../../auth/principal.js';
import type { Warden } from '../../services/warden.js';
import type { OperatorMode } from './operator-mode.js';
import { readConfig, withWardenOf } from './state.js';

/** Who ran the command on this host, as the OS says. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * The local admin, as the services see them: whoever can open this config's database can read its
 * secrets and rewrite it, so they act as an admin of every tenant. They hold no other role (a
 * business role an approval names must come from a token), and the decision log records them as
 * `local-admin:<OS user>` (with the --as label after another colon), never as a person.
 */
export function localAdmin(label?: string): Human {
  const id = `local-admin:${osUser()}${label ? `:${label}` : ''}`;
  return { kind: 'human', id, roles: ['admin'], tenant: '*' };
}

/**
 * Runs `fn` as the local admin on the config's database, unless the config refuses local-admin
 * (`cli: { local_admin: false }`): then nothing is opened and the refusal says what to do instead.
 */
export async function withLocalAdmin<T>(mode: Extract<OperatorMode, { kind: 'local-admin' }>, command: string, fn: (warden: Warden, admin: Human) => Promise<T>, options: { upstreams?: boolean } = {}): Promise<T> {
  const config = await readConfig(mode.config);
  if (!config.cli.local_admin) {
    throw new Error(
      `${config.file} refuses --local-admin (cli: { local_admin: false }); act through the gateway with your token instead: WARDEN_URL=<gateway> WARDEN_TOKEN=<your token> warden ${command} …`,
    );
  }
  const admin = localAdmin(mode.label);
  console.error(`warden: acting as ${admin.id} (local admin of every tenant) on the database of ${config.file}`);
  return withWardenOf(config, (warden) => fn(warden, admin), options);
}
