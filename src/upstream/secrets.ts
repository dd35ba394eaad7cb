import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where secret values come from. Values are read only when a call is executed. */
export interface SecretProvider {
  /** For error messages: where this provider looked, never what it found. */
  describe(name: string): string;
  get(name: string): Promise<string | undefined>;
}

const SECRET_NAME = /^[A-Za-z0-9._-]+$/;
export const SECRET_REFERENCE = /\$\{secret:([A-Za-z0-9._-]+)\}/g;

export class EnvSecretProvider implements SecretProvider {
  constructor(
    private readonly prefix = 'WARDEN_SECRET_',
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private variable(name: string): string {
    return `${this.prefix}${name.toUpperCase().replace(/[.-]/g, '_')}`;
  }

  describe(name: string): string {
    return `environment variable ${this.variable(name)}`;
  }

  async get(name: string): Promise<string | undefined> {
    return this.env[this.variable(name)];
  }
}

export class FileSecretProvider implements SecretProvider {
  constructor(private readonly dir: string) {}

  describe(name: string): string {
    return `file ${join(this.dir, name)}`;
  }

  async get(name: string): Promise<string | undefined> {
    try {
      // One trailing newline is how editors and `echo` leave files; it is never part of a secret.
      return (await readFile(join(this.dir, name), 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read secret file for "${name}": ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
  }
}

export class SecretNotFoundError extends Error {}

/**
 * Resolves `${secret:name}` references through the providers, first one that has it wins. A value
 * is kept in memory for `cacheMs` (reading a secret file costs ~0.3 ms per call, measured in
 * bench/http), so a rotated secret is picked up within that time.
 */
export class SecretResolver {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly providers: readonly SecretProvider[],
    private readonly cacheMs = 5_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async resolve(name: string): Promise<string> {
    if (!SECRET_NAME.test(name)) throw new SecretNotFoundError(`"${name}" is not a valid secret name`);
    const now = this.clock();
    const hit = this.cache.get(name);
    if (hit && hit.until > now) return hit.value;
    for (const provider of this.providers) {
      const value = await provider.get(name);
      if (value !== undefined) {
        if (this.cacheMs > 0) this.cache.set(name, { value, until: now + this.cacheMs });
        return value;
      }
    }
    const looked = this.providers.map((p) => p.describe(name)).join(', ') || 'no providers configured';
    throw new SecretNotFoundError(`secret "${name}" is not set (looked in: ${looked})`);
  }

  /**
   * `interpolate` without a turn of the microtask queue, when every secret `text` names is in the
   * cache (the case of nearly every call): undefined when one must be read (then `interpolate`).
   */
  interpolateCached(text: string, used?: Set<string>): string | undefined {
    const parts = compiledTemplate(text);
    if (parts.length === 1) return text;
    const now = this.clock();
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const hit = this.cache.get(parts[i]!);
      if (!hit || hit.until <= now) return undefined;
      out += hit.value + parts[i + 1]!;
    }
    if (used) for (let i = 1; i < parts.length; i += 2) used.add(this.cache.get(parts[i]!)!.value);
    return out;
  }

  /** Replaces every `${secret:name}` in `text`; the result must never be logged. */
  async interpolate(text: string, used?: Set<string>): Promise<string> {
    const parts = compiledTemplate(text);
    if (parts.length === 1) return text;
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const name = parts[i]!;
      // A value still in the cache is taken without a turn of the microtask queue.
      const hit = this.cache.get(name);
      const value = hit && hit.until > this.clock() ? hit.value : await this.resolve(name);
      used?.add(value);
      out += value + parts[i + 1]!;
    }
    return out;
  }
}

/** Whether `text` names a secret (`${secret:name}`): a template without one is used as it is. */
export function hasSecretReference(text: string): boolean {
  return compiledTemplate(text).length > 1;
}

/**
 * Templates split once into literal text (even indexes) and secret names (odd indexes): the same
 * few templates (a tool's URL and headers, from warden.yaml) are interpolated on every call.
 */
const templates = new Map<string, readonly string[]>();
const MAX_TEMPLATES = 1_000;

function compiledTemplate(text: string): readonly string[] {
  let parts = templates.get(text);
  if (!parts) {
    parts = text.split(SECRET_PARTS);
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(text, parts);
  }
  return parts;
}

/** SECRET_REFERENCE for String.split: the captured name lands between the literal parts. */
const SECRET_PARTS = new RegExp(SECRET_REFERENCE.source);

/**
 * Masks the secret values injected into a call wherever they come back (a tool that echoes its
 * Authorization header, an error page quoting the URL): an agent never sees a credential.
 */
export function maskSecrets(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  // Very short values would mask innocent text; they are not credentials worth the name anyway.
  for (const secret of secrets) if (secret.length >= 6) out = out.split(secret).join('[REDACTED:secret]');
  return out;
}

/** maskSecrets over every string of a JSON-like value (an MCP result, a notification's params). */
export function maskSecretsIn<T>(value: T, secrets: ReadonlySet<string>): T {
  if (typeof value === 'string') return maskSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => maskSecretsIn(v, secrets)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = maskSecretsIn(v, secrets);
  return out as T;
}
