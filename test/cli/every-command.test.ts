import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every command the built `warden` binary offers, found by walking its own `--help`: each prints
 * its help (exit 0), and each is run through the binary by some test — a command reached only by
 * calling its function directly has broken before (`warden mcp governance` could not start).
 */
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));
const TESTS = fileURLToPath(new URL('../', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout })),
  );
}

/** The sub-commands a help text lists (`Commands:` section), without `help`. */
function subcommands(help: string): string[] {
  const section = help.split('\nCommands:\n')[1];
  if (!section) return [];
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

async function commandTree(path: string[] = []): Promise<Array<{ path: string[]; help: { code: number; stdout: string } }>> {
  const help = await run([...path, '--help']);
  const children = subcommands(help.stdout);
  const below = await Promise.all(children.map((c) => commandTree([...path, c])));
  return [...(path.length ? [{ path, help }] : []), ...below.flat()];
}

function testSources(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? testSources(path) : /\.(test\.)?ts$/.test(path) ? readFileSync(path, 'utf8') : ''))
    .join('\n');
}

describe('every warden command', () => {
  it('prints its help through the built binary, and is run through the binary by a test', async () => {
    const tree = await commandTree();
    expect(tree.length).toBeGreaterThan(20);
    const sources = testSources(TESTS).replaceAll('"', "'");
    const untested: string[] = [];
    for (const { path, help } of tree) {
      expect(help.code, `warden ${path.join(' ')} --help`).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: warden ${path.join(' ')}`));
      // Parents only group (`warden audit`); their leaves are what users run. `mcp` is both.
      if (subcommands(help.stdout).length && path[0] !== 'mcp') continue;
      // Invocations are written warden(['tools', 'list', …]) or execFile(node, [CLI, 'tools', 'list', …]).
      const args = `'${path.join("', '")}'`;
      if (!sources.includes(`[${args}`) && !sources.includes(`[CLI, ${args}`)) untested.push(`warden ${path.join(' ')}`);
    }
    expect(untested, 'commands no test runs through the binary').toEqual([]);
  });
});
