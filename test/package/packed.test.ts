import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as users get it: `npm pack` (what `files` ships, `exports`, `main`, `types`, `bin`),
 * unpacked into a new project's node_modules the way npm lays it out, then the README's SDK
 * example run as an ES module script in that project, and the packed `bin` run.
 *
 * A real `npm install <tarball>` takes ~100 s here (better-sqlite3 is compiled from source each
 * time), so by default the unpacked package finds its dependencies in this clone's node_modules
 * (a link at node_modules/warden/node_modules), and a static check makes sure every package the
 * shipped code imports is one of `dependencies`. WARDEN_PACK_NPM_INSTALL=1 runs the real install.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REAL_INSTALL = process.env.WARDEN_PACK_NPM_INSTALL === '1';

interface Manifest {
  name: string;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, { types?: string; default?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

let project: string;
let installed: string;
let manifest: Manifest;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run npm run build first (npm test does)');
  const work = mkdtempSync(join(tmpdir(), 'warden-pack-'));
  // --ignore-scripts: `prepare` would build again; dist is fresh (npm test builds first).
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string }[];
  const tarball = join(work, packed[0]!.filename);
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-warden', version: '1.0.0', private: true, type: 'module' }));
  installed = join(project, 'node_modules', 'warden');
  if (REAL_INSTALL) {
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    if (install.code !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  } else {
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
    symlinkSync(join(ROOT, 'node_modules'), join(installed, 'node_modules'), 'dir');
  }
  manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
  if (!REAL_INSTALL) {
    // What npm does for each bin: a link in node_modules/.bin, made executable.
    mkdirSync(join(project, 'node_modules', '.bin'));
    for (const [name, target] of Object.entries(manifest.bin ?? {})) {
      chmodSync(join(installed, target), 0o755);
      symlinkSync(join('..', 'warden', target), join(project, 'node_modules', '.bin', name));
    }
  }
}, 300_000);

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') || e.name.endsWith('.mjs') ? [join(dir, e.name)] : []));
}

describe('the packed package', () => {
  it('ships what main, types, exports and bin name', () => {
    for (const file of [manifest.main, manifest.types, manifest.exports?.['.']?.default, manifest.exports?.['.']?.types, ...Object.values(manifest.bin ?? {})]) {
      expect(file, 'package.json names it').toBeTruthy();
      expect(existsSync(join(installed, file!)), `${file} is in the tarball`).toBe(true);
    }
    expect(Object.keys(manifest.bin ?? {})).toEqual(['warden']);
  });

  it('imports only packages it declares as dependencies (the shipped code: dist and examples)', () => {
    // Optional peers (ai, @langchain/core) are imported only by the adapters that need them.
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const builtins = new Set(builtinModules);
    const undeclared = new Set<string>();
    const specifier = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
    for (const file of [...jsFiles(join(installed, 'dist')), ...jsFiles(join(installed, 'examples'))]) {
      if (file.includes(`${join('dist', 'ui')}`)) continue; // the browser bundle: everything inlined
      for (const match of readFileSync(file, 'utf8').matchAll(specifier)) {
        const spec = match[1] ?? match[2] ?? match[3]!;
        if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!declared.has(name)) undeclared.add(`${name} (${file.slice(installed.length + 1)})`);
      }
    }
    expect([...undeclared]).toEqual([]);
  });

  it('runs the README SDK example as an ES module script: import { createWarden } from "warden"', async () => {
    // The example config ships in the package (files: examples); the app is a copy of it.
    const app = join(project, 'app');
    cpSync(join(installed, 'examples'), app, { recursive: true });
    writeFileSync(
      join(project, 'sdk-example.mjs'),
      `import { createWarden, WardenDeniedError, WardenConfigError, compilePolicies, decide } from 'warden';

const warden = await createWarden({ config: 'warden.yaml' });
const out = { exports: [typeof createWarden, typeof WardenDeniedError, typeof WardenConfigError, typeof compilePolicies, typeof decide] };

// Decision only (your framework executes the tool):
const { decision } = await warden.decide({ tenant: 'acme-corp', actor: { agent: { id: 'support-agent', roles: ['support'] } },
  action: 'tool.call', resource: { type: 'tool', id: 'read_orders' }, args: {} });
out.decide = { effect: decision.effect, rule: decision.rule };

// Protect any async function:
const refunds = [];
const refund = warden.guard(async ({ order_id, amount }) => { refunds.push(order_id); return { refund_id: 'rf-' + order_id }; },
  { name: 'issue_refund', effect: 'write', risk: 'high', input_schema: { type: 'object', required: ['order_id', 'amount'] } },
  { agentId: 'refund-agent', tenant: 'acme-corp' });
out.small = await refund({ order_id: 'o-1', amount: 50 });   // runs only if allowed
try {
  await refund({ order_id: 'o-2', amount: 250 });            // otherwise throws WardenDeniedError
  out.large = 'ran';
} catch (e) {
  out.large = { denied: e instanceof WardenDeniedError, status: e.outcome.status, approvalId: e.outcome.approvalId };
  const vote = await warden.approvals.approve(e.outcome.approvalId, { id: 'fiona', roles: ['finance_manager'], tenant: 'acme-corp' }, 'ok');
  out.approved = vote.approval?.status ?? vote.status ?? Object.keys(vote);
}
out.refunds = refunds;
out.configError = await createWarden({ config: 'missing.yaml' }).then(() => 'opened', (e) => e instanceof WardenConfigError);
await warden.close();
console.log(JSON.stringify(out));
`,
    );
    const result = await run(process.execPath, ['../sdk-example.mjs'], app, { ...process.env, WARDEN_SECRET_TOOLS_TOKEN: 'example-tools-token' });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(out.exports).toEqual(['function', 'function', 'function', 'function', 'function']);
    expect(out.decide).toEqual({ effect: 'allow', rule: 'support-reads-orders' });
    expect(out.small).toEqual({ refund_id: 'rf-o-1' });
    expect(out.large).toMatchObject({ denied: true, status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/) });
    expect(out.configError).toBe(true);
  }, 60_000);

  // A real `npm install <tarball>` does not install the optional peers the adapters import.
  it.skipIf(REAL_INSTALL)('resolves the adapters\' subpath exports: warden/adapters/ai-sdk and warden/adapters/langchain', async () => {
    for (const subpath of ['./adapters/ai-sdk', './adapters/langchain']) {
      const entry = manifest.exports?.[subpath];
      expect(entry?.default && existsSync(join(installed, entry.default)), `${subpath} ships its code`).toBe(true);
      expect(entry?.types && readFileSync(join(installed, entry.types), 'utf8'), `${subpath} ships its types`).toMatch(/WardenAdapterOptions/);
    }
    writeFileSync(
      join(project, 'adapters.mjs'),
      `import { wardenTools, WardenToolRefusal } from 'warden/adapters/ai-sdk';
import { wardenLangChainTools } from 'warden/adapters/langchain';
// No tenant for a remote gateway: refused before anything is sent, with a text the model can read.
const gated = wardenTools({ t: { inputSchema: {}, execute: async () => 1 } }, { gateway: { url: 'http://127.0.0.1:1', apiKey: 'k' }, agentId: 'a' });
const refused = await gated.t.execute({}, { toolCallId: 'x', messages: [] }).catch((e) => e instanceof WardenToolRefusal && e.message);
console.log(JSON.stringify([typeof wardenTools, typeof wardenLangChainTools, refused]));
`,
    );
    const result = await run(process.execPath, ['adapters.mjs'], project);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toEqual(['function', 'function', expect.stringContaining('needs the tenant')]);
  }, 60_000);

  it('has types for the SDK at the package root', () => {
    const types = readFileSync(join(installed, manifest.types!), 'utf8');
    for (const name of ['createWarden', 'WardenDeniedError', 'WardenConfigError', 'Warden', 'CreateWardenOptions', 'ToolCall', 'CallResult']) expect(types).toContain(name);
  });

  it('installs a bin that runs: warden --help', async () => {
    const bin = join(project, 'node_modules', '.bin', 'warden');
    const result = await run(bin, ['--help'], project);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: warden');
    expect(result.stdout).toMatch(/\bserve\b/);
    expect(dirname(bin)).toBe(join(project, 'node_modules', '.bin'));
  });
});
