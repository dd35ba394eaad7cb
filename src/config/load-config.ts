import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { firstLine, type Diagnostic } from '../lib/diagnostic.js';
import { schemaDiagnostics } from '../lib/schema-diagnostics.js';
import { YamlSource } from '../lib/source-map.js';
import { configSchema, type ConfigDocument } from './config-schema.js';
import { durationMs } from '../lib/duration.js';
import { expandEnvRefs } from './env-refs.js';

export interface WardenConfig extends ConfigDocument {
  /** Folder the config file is in; relative paths in it are resolved from here. */
  baseDir: string;
  /** Absolute path of the policy folder. */
  policiesDir: string;
  /** Where the config came from, for messages. */
  file: string;
}

export type ConfigResult = { ok: true; config: WardenConfig } | { ok: false; diagnostics: Diagnostic[] };

/** Parses and validates a config text. `file` names it in diagnostics and anchors relative paths. */
export function parseConfig(text: string, file: string, env: Readonly<Record<string, string | undefined>> = process.env): ConfigResult {
  const source = new YamlSource(file, text);
  if (source.document.errors.length > 0) {
    return {
      ok: false,
      diagnostics: source.document.errors.map((e) => ({
        file,
        ...source.position(e.pos[0]),
        severity: 'error' as const,
        code: 'yaml' as const,
        message: firstLine(e.message),
      })),
    };
  }
  const expanded = expandEnvRefs(source.document.toJS({ maxAliasCount: 100 }) ?? {}, env, source);
  if (expanded.diagnostics.length > 0) return { ok: false, diagnostics: expanded.diagnostics };
  const raw = expanded.value;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, diagnostics: schemaDiagnostics(parsed.error.issues, { source, schema: configSchema, input: raw, root: 'the config' }) };
  }
  const diagnostics = crossChecks(parsed.data, source);
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const baseDir = dirname(resolve(file));
  return {
    ok: true,
    config: { ...parsed.data, baseDir, file, policiesDir: resolveFrom(baseDir, parsed.data.policies) },
  };
}

export async function loadConfig(file: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return {
      ok: false,
      diagnostics: [{ file, line: 1, column: 1, severity: 'error', code: 'io', message: `cannot read the config: ${(e as Error).message}` }],
    };
  }
  return parseConfig(text, file);
}

export function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Rules zod cannot express: unique ids, durations within bounds, tools a limit refers to. */
function crossChecks(config: ConfigDocument, source: YamlSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: PropertyKey[], message: string, hint?: string) =>
    out.push({ file: source.file, ...source.locate(path), severity: 'error', code: 'schema', message, ...(hint ? { hint } : {}) });
  const unique = (list: Array<{ id?: string; name?: string }>, key: 'agents' | 'tools' | 'upstreams') => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const id = item.id ?? item.name ?? '';
      if (seen.has(id)) at([key, i], `${key.slice(0, -1)} "${id}" is defined twice`);
      seen.add(id);
    });
  };
  unique(config.agents, 'agents');
  unique(config.tools, 'tools');
  unique(config.upstreams, 'upstreams');
  const keyIds = new Set<string>();
  config.agents.forEach((agent, i) =>
    agent.credentials.forEach((c, j) => {
      if (keyIds.has(c.key_id)) at(['agents', i, 'credentials', j, 'key_id'], `key id "${c.key_id}" is used twice`, 'key ids are unique across agents');
      keyIds.add(c.key_id);
    }),
  );
  const skew = durationMs(config.authentication.clock_skew);
  if (durationMs(config.authentication.replay_window) < skew) {
    at(['authentication', 'replay_window'], 'replay_window must be at least clock_skew', 'otherwise a replayed envelope could arrive after its id was forgotten');
  }
  for (const key of ['headers_timeout', 'request_timeout', 'keep_alive_timeout'] as const) {
    if (durationMs(config.server[key]) <= 0) at(['server', key], `${key} must be longer than 0s`, 'a connection without it could be held open forever');
  }
  if (durationMs(config.server.headers_timeout) > durationMs(config.server.request_timeout)) {
    at(['server', 'headers_timeout'], 'headers_timeout must not be longer than request_timeout', 'the headers are part of the request');
  }
  if (/^postgres(ql)?:/i.test(config.storage.trim()) && !config.redis) {
    at(['storage'], 'postgres storage needs redis too', 'replicas share rate limits, request ids and sessions in Redis: add redis: { url: redis://127.0.0.1:6379 }');
  }
  config.tools.forEach((tool, i) => {
    if (tool.fail_open && !(tool.effect === 'read' && tool.risk === 'low')) {
      at(['tools', i, 'fail_open'], `fail_open is only allowed for low-risk read tools; "${tool.name}" is ${tool.risk} ${tool.effect}`);
    }
    if (tool.http) {
      try {
        const url = new URL(tool.http.url.replace(/\$\{secret:[^}]+\}/g, 'secret'));
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      } catch {
        at(['tools', i, 'http', 'url'], `"${tool.http.url}" is not an http(s) URL`);
      }
    }
  });
  return out;
}
