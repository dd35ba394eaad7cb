import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { WardenConfig } from '../../config/load-config.js';
import type { ToolCatalog, ToolInfo } from '../../policy/analysis/index.js';
import { parseJson } from './read-input.js';
import { UsageError } from './usage-error.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `--tools <file>`: a JSON list of tool names (examples/tools.json), of registry entries
 * (`{ "name", "input_schema" | "inputSchema", "upstream" | "server" }`), or `{ "tools": [...] }`.
 * Entries with a schema have their arguments type-checked; with an upstream, globs spanning
 * several upstreams are reported.
 */
export async function readToolsFile(path: string): Promise<ToolCatalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --tools file: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseJson(text, path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const list = Array.isArray(value) ? value : isRecord(value) ? value.tools : undefined;
  const tools = Array.isArray(list) ? list.map(toolInfo) : [];
  if (!Array.isArray(list) || tools.some((t) => t === undefined)) {
    throw new UsageError(`--tools file ${path} must be a JSON list of tool names or of objects with "name" (and optionally "input_schema", "upstream"), or {"tools": [...]}`);
  }
  return { tools: tools as ToolInfo[] };
}

function toolInfo(entry: unknown): ToolInfo | undefined {
  if (typeof entry === 'string') return { name: entry };
  if (!isRecord(entry) || typeof entry.name !== 'string') return undefined;
  const schema = entry.input_schema ?? entry.inputSchema;
  const upstream = entry.upstream ?? entry.server;
  return { name: entry.name, ...(isRecord(schema) ? { inputSchema: schema } : {}), ...(typeof upstream === 'string' ? { upstream } : {}) };
}

/**
 * `--config <warden.yaml>`: the gateway's registry without starting it — the config's tools, and
 * the MCP upstream tools the gateway has already seen (their pinned definitions in its database,
 * named as the gateway exposes them). An upstream with no pinned tools is not listed: patterns
 * that may name its tools are left alone (prefixed upstreams), or no pattern is called unmatched.
 */
export async function catalogFromConfig(config: WardenConfig, configFile: string): Promise<{ catalog: ToolCatalog; notes: string[] }> {
  const tools: ToolInfo[] = config.tools.map((t) => ({ name: t.name, ...(t.input_schema ? { inputSchema: t.input_schema } : {}) }));
  const notes: string[] = [];
  const pins = config.upstreams.length ? await pinnedDefinitions(config, configFile, notes) : [];
  const unlistedPrefixes: string[] = [];
  let complete = true;
  for (const upstream of config.upstreams) {
    const seen = pins.filter((p) => p.tool.startsWith(`${upstream.name}/`));
    for (const pin of seen) {
      const original = pin.tool.slice(upstream.name.length + 1);
      if (upstream.tools[original]?.hidden) continue;
      const definition = pin.definition ?? {};
      const schema = definition.inputSchema;
      tools.push({ name: upstream.prefix ? `${upstream.name}.${original}` : original, upstream: upstream.name, ...(isRecord(schema) ? { inputSchema: schema } : {}) });
    }
    if (seen.length === 0) {
      if (upstream.prefix) unlistedPrefixes.push(`${upstream.name}.`);
      else complete = false;
      notes.push(`upstream ${upstream.name}: its tools are not known yet (the gateway has not connected to it with this database); rules naming them are not checked`);
    }
  }
  return { catalog: { tools, unlistedPrefixes, complete }, notes };
}

async function pinnedDefinitions(config: WardenConfig, configFile: string, notes: string[]) {
  const { openExistingStore, storeUrlOf } = await import('./state.js');
  try {
    const { file } = storeUrlOf(config);
    if (file !== undefined && !existsSync(file)) return [];
    const store = await openExistingStore({ config: configFile });
    try {
      return await store.listToolPins();
    } finally {
      await store.close();
    }
  } catch (e) {
    notes.push(`cannot read the pinned MCP tool definitions: ${(e as Error).message}`);
    return [];
  }
}
