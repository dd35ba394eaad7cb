#!/usr/bin/env node
/**
 * Checks the import rules between the folders (layers) of src/ (npm run check:layers, run by CI).
 *
 * The rules are in scripts/layers.json: each folder lists the folders it may import (itself is
 * always allowed). A file's folder is the first path segment under the source root
 * (src/policy/compile.ts -> policy), or the first two under src/surfaces/
 * (src/surfaces/http/routes/x.ts -> surfaces/http). Files directly in the root (src/index.ts) are
 * the package root: they may import anything, and no folder may import them.
 *
 * It fails (exit 1) when a file imports from a folder its own folder may not depend on, when a file
 * lives in a folder the rules do not know, or when the folders actually import each other in a
 * cycle (found on the observed folder graph, so it still holds if someone edits the rules).
 *
 * Every relative import counts, as `ts.preProcessFile` lists them: value imports, `import type` and
 * `export type ... from` (a type import still couples the layers: the importer breaks, or silently
 * changes meaning, when the imported types change), re-exports, side-effect imports,
 * `import x = require()`, and dynamic `import()`, including `typeof import('...')` in types.
 * Package (non-relative) imports are ignored.
 *
 * Usage: node scripts/check-layers.mjs [--root src] [--rules scripts/layers.json] [--json]
 * Exit codes: 0 clean, 1 violations, 2 bad arguments or rules.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const ROOT_LAYER = '(root)';
const SOURCE = /\.tsx?$/;
/** What an import's extension may stand for in the TypeScript sources (NodeNext writes `./x.js` for x.ts). */
const SOURCE_EXTENSIONS = { '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };

function fail(message) {
  console.error(`check-layers: ${message}`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      root: { type: 'string', default: 'src' },
      rules: { type: 'string', default: fileURLToPath(new URL('./layers.json', import.meta.url)) },
      json: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  fail(`${err.message}\nusage: node scripts/check-layers.mjs [--root src] [--rules scripts/layers.json] [--json]`);
}
const root = path.resolve(opts.root);
if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) fail(`no source directory ${opts.root}`);
const layers = readRules(opts.rules);

function readRules(file) {
  let rules;
  try {
    rules = JSON.parse(readFileSync(file, 'utf8')).layers;
  } catch (err) {
    fail(`cannot read the rules ${file}: ${err.message}`);
  }
  if (typeof rules !== 'object' || rules === null) fail(`${file} has no "layers" table`);
  for (const [layer, allowed] of Object.entries(rules)) {
    if (!Array.isArray(allowed)) fail(`${file}: ${layer} must list the layers it may import`);
    for (const other of allowed) if (!Object.hasOwn(rules, other)) fail(`${file}: ${layer} may import ${other}, which is not a layer`);
  }
  return rules;
}

function* sourceFiles(dir) {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') yield* sourceFiles(full);
    else if (entry.isFile() && SOURCE.test(entry.name)) yield full;
  }
}

function layerOf(file) {
  const dirs = path.relative(root, file).split(path.sep).slice(0, -1);
  if (dirs.length === 0) return ROOT_LAYER;
  return dirs[0] === 'surfaces' && dirs.length > 1 ? `surfaces/${dirs[1]}` : dirs[0];
}

const isFile = (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The file a relative import names; the bare path when nothing matches (its folder is still known). */
function resolveImport(from, specifier) {
  const target = path.resolve(path.dirname(from), specifier);
  const ext = path.extname(target);
  const swapped = (SOURCE_EXTENSIONS[ext] ?? []).map((e) => target.slice(0, -ext.length) + e);
  const added = ['.ts', '.tsx', '/index.ts', '/index.tsx'].map((e) => target + e);
  return [target, ...swapped, ...added].find(isFile) ?? target;
}

const display = (file) => {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
};

const violations = [];
const unknown = new Map(); // layer -> its files
const graph = new Map(); // layer -> Map(imported layer -> first import site)
let fileCount = 0;

for (const file of sourceFiles(root)) {
  fileCount++;
  const from = layerOf(file);
  const known = from === ROOT_LAYER || Object.hasOwn(layers, from);
  if (!known) unknown.set(from, [...(unknown.get(from) ?? []), display(file)]);
  const text = readFileSync(file, 'utf8');
  for (const { fileName: specifier, pos } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!specifier.startsWith('.')) continue; // a package
    const target = resolveImport(file, specifier);
    if (path.relative(root, target).startsWith('..')) continue; // outside the source root
    const to = layerOf(target);
    if (to === from || from === ROOT_LAYER) continue;
    const site = { file: display(file), line: text.slice(0, pos).split('\n').length, from, to, import: specifier };
    if (to !== ROOT_LAYER) {
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.get(from).has(to)) graph.get(from).set(to, site);
    }
    if (known && !layers[from].includes(to)) violations.push(site);
  }
}

/** The shortest cycle of folders through `start` (breadth-first), as [start, ..., start]; or null. */
function shortestCycle(start) {
  const prev = new Map();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const next of graph.get(queue[i])?.keys() ?? []) {
      if (next === start) {
        const cycle = [start];
        for (let node = queue[i]; node !== start; node = prev.get(node)) cycle.splice(1, 0, node);
        return [...cycle, start];
      }
      if (!prev.has(next)) {
        prev.set(next, queue[i]);
        queue.push(next);
      }
    }
  }
  return null;
}

const cycles = new Map(); // canonical rotation -> cycle, so each cycle is reported once
for (const layer of [...graph.keys()].sort()) {
  const cycle = shortestCycle(layer);
  if (!cycle) continue;
  const ring = cycle.slice(0, -1);
  const first = ring.indexOf([...ring].sort()[0]);
  const key = [...ring.slice(first), ...ring.slice(0, first)].join(' -> ');
  if (!cycles.has(key)) {
    cycles.set(key, { path: cycle, imports: ring.map((node, i) => graph.get(node).get(cycle[i + 1])) });
  }
}

const unknownLayers = [...unknown].map(([layer, files]) => ({ layer, files }));
const ok = violations.length === 0 && cycles.size === 0 && unknownLayers.length === 0;
const line = (v) => `${v.file}:${v.line}  ${v.from} -> ${v.to}: ${v.import}`;

if (opts.json) {
  console.log(JSON.stringify({ ok, root: display(root), files: fileCount, violations, cycles: [...cycles.values()], unknownLayers }, null, 2));
} else {
  for (const v of violations) console.log(line(v));
  for (const { path: cycle, imports } of cycles.values()) {
    console.log(`cycle: ${cycle.join(' -> ')}`);
    for (const v of imports) console.log(`  ${line(v)}`);
  }
  for (const { layer, files } of unknownLayers) {
    const more = files.length > 1 ? ` (${files.length} files)` : '';
    console.log(`${files[0]}  unknown layer ${layer}: add it to the rules${more}`);
  }
  const counts = [[violations.length, 'forbidden import'], [cycles.size, 'folder cycle'], [unknownLayers.length, 'unknown layer']]
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}${n === 1 ? '' : 's'}`);
  const where = `${fileCount} file${fileCount === 1 ? '' : 's'} under ${display(root) || '.'}`;
  console.log(ok ? `check-layers: ok (${where})` : `check-layers: ${counts.join(', ')} (${where})`);
}
process.exitCode = ok ? 0 : 1;
