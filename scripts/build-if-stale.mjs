#!/usr/bin/env node
/**
 * `npm start` builds only when it must: when an output of `npm run build` is missing, or a source
 * (src/**, package.json, the tsconfig files) is newer than the oldest of them. A build takes about
 * a minute; a start on a fresh build then takes seconds.
 *
 *   node scripts/build-if-stale.mjs [--root <dir>] [--dry-run]
 *
 * --dry-run prints "stale: <why>" or "fresh" and builds nothing (exit 0 either way).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = rootArg >= 0 ? resolve(args[rootArg + 1]) : fileURLToPath(new URL('..', import.meta.url));
const dryRun = args.includes('--dry-run');

/** What `npm run build` writes last in each of its steps (tsc, chmod, vite). */
const OUTPUTS = ['dist/index.js', 'dist/surfaces/cli/main.js', 'dist/ui/index.html'];
const SOURCES = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newest(path) {
  if (!existsSync(path)) return { time: 0, path };
  const info = statSync(path);
  if (!info.isDirectory()) return { time: info.mtimeMs, path };
  let best = { time: info.mtimeMs, path }; // a removed file changes its folder's time
  for (const entry of readdirSync(path)) {
    const found = newest(join(path, entry));
    if (found.time > best.time) best = found;
  }
  return best;
}

function staleness() {
  let oldestOutput = Infinity;
  for (const output of OUTPUTS) {
    const path = join(root, output);
    if (!existsSync(path)) return `${output} is missing`;
    oldestOutput = Math.min(oldestOutput, statSync(path).mtimeMs);
  }
  for (const source of SOURCES) {
    const found = newest(join(root, source));
    if (found.time > oldestOutput) return `${relative(root, found.path)} changed since the last build`;
  }
  return undefined;
}

const why = staleness();
if (dryRun) {
  console.log(why ? `stale: ${why}` : 'fresh');
} else if (why) {
  console.error(`building (${why})…`);
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  process.exit(build.status ?? 1);
}
