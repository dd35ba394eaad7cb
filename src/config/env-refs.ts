import type { Diagnostic } from '../lib/diagnostic.js';
import type { YamlSource } from '../lib/source-map.js';

/**
 * `${env:NAME}` and `${env:NAME:-default}` in string values of warden.yaml, replaced by the
 * environment at load time, so one file serves several machines (ports, hosts, URLs).
 *
 * Only `env:` references are expanded here: `${secret:name}` stays a reference and is resolved at
 * execution, never copied into the loaded config. An unset variable without a default is an error
 * naming the variable and where it is used: a config must not start half-filled.
 */
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandEnvRefs(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>>,
  source: YamlSource,
): { value: unknown; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') return value.includes('${env:') ? expand(value, path) : value;
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return value;
  };
  const expand = (text: string, path: PropertyKey[]): string =>
    text.replace(ENV_REF, (_ref, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      diagnostics.push({
        file: source.file,
        ...source.locate(path),
        severity: 'error',
        code: 'env',
        message: `environment variable ${name} is not set (used at ${path.join('.')})`,
        hint: `set ${name}, or give a default: \${env:${name}:-value}`,
      });
      return '';
    });
  return { value: walk(raw, []), diagnostics };
}
