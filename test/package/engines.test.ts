import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every installed package (nested node_modules too) with the Node range it declares. */
function installedEngines(dir: string, out: Array<{ name: string; range: string }> = []) {
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (entry.startsWith('@')) {
      installedEngines(path, out);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const { name, engines } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; engines?: { node?: string } };
      if (name && engines?.node && semver.validRange(engines.node)) out.push({ name, range: engines.node });
    }
    if (existsSync(join(path, 'node_modules'))) installedEngines(join(path, 'node_modules'), out);
  }
  return out;
}

describe('the Node version the package promises', () => {
  it('is one every installed dependency supports (npm install prints no engine warning on it)', () => {
    const promised = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const oldest = semver.minVersion(promised)!.version;
    const engines = installedEngines(join(ROOT, 'node_modules'));
    expect(engines.length).toBeGreaterThan(50);
    const unsupported = engines.filter((e) => !semver.satisfies(oldest, e.range)).map((e) => `${e.name} needs ${e.range}`);
    expect(unsupported, `package.json promises node ${promised}`).toEqual([]);
  });
});
