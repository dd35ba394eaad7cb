import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { compilePolicies, type CompileOptions, type CompileResult, type PolicySource } from './compile.js';
import type { Diagnostic } from '../lib/diagnostic.js';
import { DATA_FILE, MAX_DATA_FILE_BYTES, parsePolicyData, type DataSource } from './policy-data.js';
import { parse } from 'yaml';

const YAML_FILE = /\.ya?ml$/;
const TEST_FILE = /\.test\.ya?ml$/;
/** Policy files are small; a larger one is a mistake (or an attack) and is refused unread. */
export const MAX_POLICY_FILE_BYTES = 1_048_576;

export interface PolicyFolder {
  policies: PolicySource[];
  tests: PolicySource[];
  /** Policy data: the files directly in `data/` (YAML or JSON), by name (`data/users.yaml` → `data.users`). */
  data: DataSource[];
  /** Files that could not be read. */
  diagnostics: Diagnostic[];
}

const ioError = (file: string, message: string, hint?: string): Diagnostic => ({
  file,
  line: 1,
  column: 1,
  severity: 'error',
  code: 'io',
  message,
  ...(hint ? { hint } : {}),
});

/**
 * Reads every `*.yaml` under `dir` (recursively), splitting `*.test.yaml` suites from policies. `dir`
 * may also be one file, read as a folder holding only it.
 */
export async function readPolicyFolder(dir: string): Promise<PolicyFolder> {
  const folder: PolicyFolder = { policies: [], tests: [], data: [], diagnostics: [] };
  let paths: string[];
  let dataPaths: string[] = [];
  try {
    // A single file stands for a folder holding only it (`warden check policies/refunds.yaml`).
    if ((await stat(dir)).isFile()) {
      paths = [dir];
    } else {
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      const dataDir = join(dir, 'data');
      const inData = (e: { parentPath: string }) => e.parentPath === dataDir || e.parentPath.startsWith(dataDir + sep);
      paths = entries
        .filter((e) => e.isFile() && YAML_FILE.test(e.name) && !inData(e))
        .map((e) => join(e.parentPath, e.name))
        .sort();
      dataPaths = entries
        .filter((e) => e.isFile() && DATA_FILE.test(e.name) && inData(e))
        .map((e) => join(e.parentPath, e.name))
        .sort();
    }
  } catch (e) {
    folder.diagnostics.push(ioError(dir, `cannot read the policy folder: ${(e as Error).message}`));
    return folder;
  }
  for (const path of paths) {
    const file = displayPath(path);
    const size = (await stat(path)).size;
    if (size > MAX_POLICY_FILE_BYTES) {
      folder.diagnostics.push(ioError(file, `file is ${size} bytes; policy files are limited to ${MAX_POLICY_FILE_BYTES}`));
      continue;
    }
    const text = await readFile(path, 'utf8');
    (TEST_FILE.test(path) ? folder.tests : folder.policies).push({ file, text });
  }
  for (const path of dataPaths) {
    const file = displayPath(path);
    // Only files directly in data/ are data: a name must say where it lands under `data.`.
    if (dirname(path) !== join(dir, 'data')) {
      folder.diagnostics.push({ ...ioError(file, 'data files go directly in data/ (data/<name>.yaml or .json); subfolders are not read'), code: 'data' });
      continue;
    }
    const size = (await stat(path)).size;
    if (size > MAX_DATA_FILE_BYTES) {
      folder.diagnostics.push({ ...ioError(file, `file is ${size} bytes; data files are limited to ${MAX_DATA_FILE_BYTES}`), code: 'data' });
      continue;
    }
    folder.data.push({ file, text: await readFile(path, 'utf8') });
  }
  if (folder.policies.length === 0 && folder.diagnostics.length === 0) {
    folder.diagnostics.push(ioError(dir, 'no policy files (*.yaml) found', 'policies are YAML files; *.test.yaml files are test suites'));
  }
  return folder;
}

/** Relative to the working directory when inside it (short, clickable), absolute otherwise. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A policy that ships with Warden rather than living in the folder (the guard policies). */
export type BuiltInPolicy = PolicySource & { id: string };

export interface LoadOptions extends CompileOptions {
  /**
   * Policies loaded beside the folder's unless a policy in the folder has the same id (it replaces
   * the built-in one). Their diagnostics name their own `<built-in>/…` file.
   */
  builtIns?: readonly BuiltInPolicy[];
}

/** The id a policy file declares, if it parses that far. */
export function declaredId(text: string): string | undefined {
  try {
    const doc = parse(text, { maxAliasCount: 100 }) as { id?: unknown } | null;
    return typeof doc?.id === 'string' ? doc.id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder's policies plus the built-in ones they do not replace (same id). The built-in ones
 * come last, so diagnostics and the bundle list the user's files first.
 */
export function withBuiltInPolicies(sources: readonly PolicySource[], builtIns: readonly BuiltInPolicy[]): PolicySource[] {
  const taken = new Set(sources.map((s) => declaredId(s.text)).filter((id): id is string => id !== undefined));
  return [...sources, ...builtIns.filter((p) => !taken.has(p.id)).map(({ file, text }) => ({ file, text }))];
}

export async function loadPolicyFolder(
  dir: string,
  options: LoadOptions = {},
): Promise<CompileResult & { folder: PolicyFolder }> {
  const folder = await readPolicyFolder(dir);
  const { builtIns, ...compileOptions } = options;
  const sources = builtIns?.length ? withBuiltInPolicies(folder.policies, builtIns) : folder.policies;
  const { data, diagnostics: dataDiagnostics } = parsePolicyData(folder.data);
  const result = compilePolicies(sources, { ...compileOptions, data });
  if (folder.diagnostics.length === 0 && dataDiagnostics.length === 0) return { ...result, folder };
  return { diagnostics: [...folder.diagnostics, ...dataDiagnostics, ...result.diagnostics], folder };
}
