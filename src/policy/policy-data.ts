import type { Diagnostic } from '../lib/diagnostic.js';
import { firstLine } from '../lib/diagnostic.js';
import { YamlSource } from '../lib/source-map.js';
import { findLimitViolation } from '../model/json-limits.js';
import type { JsonObject, JsonValue } from '../model/json.js';

/**
 * Policy data: reference data loaded with the policies from `data/` in the policy folder
 * (`data/users.yaml` → `data.users` in conditions): users' roles by id, allow-listed domains,
 * per-customer limits. Parsing only; reading the files is the loader's. Part of the bundle: a
 * change of data is a change of the policy set (a new revision), and a file that does not parse
 * stops the whole set from loading, like a broken policy.
 */

export interface DataSource {
  /** The path diagnostics and listings show. */
  file: string;
  text: string;
}

export interface DataFile {
  /** The key under `data`: the file name without its extension. */
  name: string;
  file: string;
  /** Keys of an object, items of a list, 1 for a scalar: what `/v1/policies` shows. */
  entries: number;
}

export interface PolicyData {
  values: JsonObject;
  files: DataFile[];
}

export const EMPTY_POLICY_DATA: PolicyData = Object.freeze({ values: Object.freeze({}) as JsonObject, files: [] as DataFile[] }) as PolicyData;

/** Data files may be larger than policies, but are still read whole into memory and into every decision's reach. */
export const MAX_DATA_FILE_BYTES = 8 * 1_048_576;
export const DATA_FILE = /\.(ya?ml|json)$/i;
/** A name a condition can write after `data.` */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Data is read by people who wrote it, but the limits still bound what a file can make the PDP hold.
const DATA_LIMITS = { maxDepth: 32, maxStringLength: 65_536, maxNodes: 1_000_000 };

const error = (file: string, line: number, column: number, message: string, hint?: string): Diagnostic => ({
  file,
  line,
  column,
  severity: 'error',
  code: 'data',
  message,
  ...(hint ? { hint } : {}),
});

/** `data/users.yaml` → `users`. */
export function dataName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(DATA_FILE, '');
}

/** Parses every data file; any error leaves the data unusable (the caller refuses the set). */
export function parsePolicyData(sources: readonly DataSource[]): { data: PolicyData; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const values: JsonObject = {};
  const files: DataFile[] = [];
  const seen = new Map<string, string>();
  for (const source of sources) {
    const name = dataName(source.file);
    if (!NAME.test(name)) {
      diagnostics.push(error(source.file, 1, 1, `"${name}" cannot be a data name`, `name data files so that data.<name> can be written in a condition: letters, digits and _, not starting with a digit (e.g. ${name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1')})`));
      continue;
    }
    const first = seen.get(name);
    if (first) {
      diagnostics.push(error(source.file, 1, 1, `data.${name} is already defined by ${first}`, 'one file per name: users.yaml or users.json, not both'));
      continue;
    }
    seen.set(name, source.file);
    const value = /\.json$/i.test(source.file) ? parseJson(source, diagnostics) : parseYaml(source, diagnostics);
    if (value === undefined) continue;
    const violation = findLimitViolation(value, DATA_LIMITS);
    if (violation) {
      diagnostics.push(error(source.file, 1, 1, `not usable as data: ${violation.replace(/^\$/, name)}`));
      continue;
    }
    values[name] = value;
    files.push({ name, file: source.file, entries: Array.isArray(value) ? value.length : value !== null && typeof value === 'object' ? Object.keys(value).length : 1 });
  }
  return { data: diagnostics.length ? EMPTY_POLICY_DATA : { values, files }, diagnostics };
}

function parseYaml(source: DataSource, diagnostics: Diagnostic[]): JsonValue | undefined {
  const yaml = new YamlSource(source.file, source.text);
  if (yaml.document.errors.length) {
    for (const e of yaml.document.errors) {
      const at = yaml.position(e.pos[0]);
      diagnostics.push(error(source.file, at.line, at.column, firstLine(e.message)));
    }
    return undefined;
  }
  try {
    // A small alias budget stops "billion laughs" documents from expanding without bound.
    const value = yaml.document.toJS({ maxAliasCount: 100 }) as JsonValue | undefined;
    if (value === undefined || value === null) {
      diagnostics.push(error(source.file, 1, 1, 'the data file is empty', 'write a mapping (users by id…) or a list'));
      return undefined;
    }
    return value;
  } catch (e) {
    diagnostics.push(error(source.file, 1, 1, firstLine((e as Error).message)));
    return undefined;
  }
}

function parseJson(source: DataSource, diagnostics: Diagnostic[]): JsonValue | undefined {
  try {
    return JSON.parse(source.text) as JsonValue;
  } catch (e) {
    const message = firstLine((e as Error).message);
    const { line, column } = jsonErrorPosition(source.text, message);
    diagnostics.push(error(source.file, line, column, `invalid JSON: ${message}`));
    return undefined;
  }
}

/** Where V8's JSON.parse error points: "(line L column C)" or "at position N"; else the end of the text. */
function jsonErrorPosition(text: string, message: string): { line: number; column: number } {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  const offset = pos ? Number(pos[1]) : text.length;
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}
