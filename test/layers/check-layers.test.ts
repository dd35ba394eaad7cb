/**
 * scripts/check-layers.mjs: the import rules between the folders of src/ (scripts/layers.json).
 * Each case writes a small source tree to a temporary directory and runs the script on it, as CI does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO, 'scripts', 'check-layers.mjs');
const RULES = join(REPO, 'scripts', 'layers.json');

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A source tree in a fresh temporary directory: relative path -> file text. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'warden-layers-'));
  dirs.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

function check(root: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, '--root', root, ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The violation line the script prints for one import. */
const violation = (root: string, file: string, line: number, from: string, to: string, specifier: string) =>
  `${join(root, file)}:${line}  ${from} -> ${to}: ${specifier}`;

describe('check-layers', () => {
  it('passes a tree that follows the rules', () => {
    const root = tree({
      'index.ts': "export * from './services/warden.js';\nexport * from './surfaces/cli/main.js';\n",
      'lib/duration.ts': "import { z } from 'zod';\nexport const d = z;\n",
      'model/decision.ts': "import { d } from '../lib/duration.js';\nexport type Decision = typeof d;\n",
      'policy/compile.ts': "import type { Decision } from '../model/decision.js';\nimport { helper } from './helper.js';\n",
      'policy/helper.ts': "// import { g } from '../guards/taint.js' is only a comment\nexport const helper = 'import(\"../guards/taint.js\")';\n",
      'guards/taint.ts': "export { compile } from '../policy/compile.js';\n",
      'services/warden.ts': "import '../guards/taint.js';\nimport '../model/decision.js';\n",
      'surfaces/mcp/server.ts': "import { warden } from '../../services/warden.js';\n",
      'surfaces/http/routes/audit.ts': "import { server } from '../../mcp/server.js';\nimport { x } from '../context.js';\n",
      'surfaces/http/context.ts': 'export const x = 1;\n',
      'surfaces/cli/main.ts': "import { audit } from '../http/routes/audit.js';\n",
      'surfaces/ui/app.tsx': "import type { Decision } from '../../model/decision.js';\n",
    });
    const run = check(root);
    expect(run.stdout).toMatch(/^check-layers: ok \(12 files under /m);
    expect(run.code).toBe(0);
  });

  it('names the file, the line and both layers of each forbidden import', () => {
    const root = tree({
      'policy/x.ts': "import { a } from './a.js';\nimport { y } from '../guards/y.js';\n",
      'policy/a.ts': 'export const a = 1;\n',
      'guards/y.ts': "import { a } from '../policy/a.js';\nexport const y = a;\n",
      'model/m.ts': "import { run } from '../enforcement/pipeline.js';\n",
      'enforcement/pipeline.ts': 'export const run = 1;\n',
      'surfaces/http/routes/r.ts': "import { main } from '../../cli/main.js';\n",
      'surfaces/cli/main.ts': 'export const main = 1;\n',
    });
    const run = check(root);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(violation(root, 'policy/x.ts', 2, 'policy', 'guards', '../guards/y.js'));
    expect(lines).toContain(violation(root, 'model/m.ts', 1, 'model', 'enforcement', '../enforcement/pipeline.js'));
    expect(lines).toContain(violation(root, 'surfaces/http/routes/r.ts', 1, 'surfaces/http', 'surfaces/cli', '../../cli/main.js'));
    expect(run.stdout).toContain('cycle: guards -> policy -> guards\n');
    expect(run.stdout).toMatch(/^check-layers: 3 forbidden imports, 1 folder cycle \(7 files under /m);
  });

  it('counts type-only imports, re-exports and dynamic import() too', () => {
    const root = tree({
      'lib/types.ts': "import type { Run } from '../enforcement/pipeline.js';\nexport type Later = Run;\n",
      'config/load.ts': "export async function load() {\n  const { y } = await import('../guards/y.js');\n  return y;\n}\n",
      'model/types.ts': "export type { Run } from '../enforcement/pipeline.js';\ntype P = typeof import('../policy/p.js');\n",
      'enforcement/pipeline.ts': 'export type Run = 1;\n',
      'guards/y.ts': 'export const y = 1;\n',
      'policy/p.ts': 'export const p = 1;\n',
    });
    const run = check(root);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(violation(root, 'lib/types.ts', 1, 'lib', 'enforcement', '../enforcement/pipeline.js'));
    expect(lines).toContain(violation(root, 'config/load.ts', 2, 'config', 'guards', '../guards/y.js'));
    expect(lines).toContain(violation(root, 'model/types.ts', 1, 'model', 'enforcement', '../enforcement/pipeline.js'));
    expect(lines).toContain(violation(root, 'model/types.ts', 2, 'model', 'policy', '../policy/p.js'));
  });

  it('reports a cycle between folders even when the rules allow every edge of it', () => {
    const rules = join(tree({}), 'rules.json');
    writeFileSync(rules, JSON.stringify({ layers: { a: ['b'], b: ['c'], c: ['a'], d: ['a'] } }));
    const root = tree({
      'a/x.ts': "import { y } from '../b/y.js';\n",
      'b/y.ts': "import { z } from '../c/z.js';\n",
      'c/z.ts': "\nimport type { X } from '../a/x.js';\n",
      'd/w.ts': "import { x } from '../a/x.js';\n",
    });
    const run = check(root, '--rules', rules);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('cycle: a -> b -> c -> a\n');
    expect(run.stdout).toContain(`  ${violation(root, 'c/z.ts', 2, 'c', 'a', '../a/x.js')}`);
    expect(run.stdout).toMatch(/^check-layers: 1 folder cycle \(4 files under /m);

    const json = JSON.parse(check(root, '--rules', rules, '--json').stdout) as { ok: boolean; violations: unknown[]; cycles: Array<{ path: string[] }> };
    expect(json.ok).toBe(false);
    expect(json.violations).toEqual([]);
    expect(json.cycles.map((c) => c.path)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('reports a folder the rules do not know, and imports into it', () => {
    const root = tree({
      'pipeline/run.ts': "import { a } from '../model/a.js';\n",
      'pipeline/more.ts': 'export const more = 1;\n',
      'surfaces/loose.ts': 'export const loose = 1;\n',
      'model/a.ts': 'export const a = 1;\n',
      'services/s.ts': "import { more } from '../pipeline/more.js';\n",
    });
    const run = check(root);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`${join(root, 'pipeline/more.ts')}  unknown layer pipeline: add it to the rules (2 files)`);
    expect(lines).toContain(`${join(root, 'surfaces/loose.ts')}  unknown layer surfaces: add it to the rules`);
    expect(lines).toContain(violation(root, 'services/s.ts', 1, 'services', 'pipeline', '../pipeline/more.js'));
  });

  it('lets the package root import anything, and no folder import the root', () => {
    const root = tree({
      'index.ts': "export * from './surfaces/cli/main.js';\n",
      'warden.ts': "export * from './lib/x.js';\n",
      'lib/x.ts': 'export const x = 1;\n',
      'surfaces/cli/main.ts': "import { x } from '../../warden.js';\n",
    });
    const run = check(root);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toContain(violation(root, 'surfaces/cli/main.ts', 1, 'surfaces/cli', '(root)', '../../warden.js'));
  });

  it('refuses rules that name a layer they do not define', () => {
    const rules = join(tree({}), 'rules.json');
    writeFileSync(rules, JSON.stringify({ layers: { a: ['b'] } }));
    const run = check(tree({ 'a/x.ts': '' }), '--rules', rules);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('a may import b, which is not a layer');
  });

  it('ships rules without a cycle', () => {
    const layers = (JSON.parse(readFileSync(RULES, 'utf8')) as { layers: Record<string, string[]> }).layers;
    const done = new Set<string>();
    const visit = (layer: string, path: string[]): void => {
      expect(path, `cycle in scripts/layers.json: ${[...path, layer].join(' -> ')}`).not.toContain(layer);
      if (done.has(layer)) return;
      for (const next of layers[layer] ?? []) visit(next, [...path, layer]);
      done.add(layer);
    };
    for (const layer of Object.keys(layers)) visit(layer, []);
  });

  // The restructure of src/ into these layers must leave this passing; it prints every violation.
  it('passes on the real src/', () => {
    const run = check(join(REPO, 'src'));
    expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
  });
});
