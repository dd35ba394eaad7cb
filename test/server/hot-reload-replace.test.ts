import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/surfaces/http/serve.js';
import { startHarness } from '../pipeline/harness.js';

async function until(condition: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kb = (version: number, effect: 'allow' | 'deny') => `id: kb\nversion: ${version}\nrules: [{id: finance-reads-kb, effect: ${effect}, tools: [search_knowledge_base]}]\n`;

/**
 * Editors that save by swapping files, `sed -i` and `git checkout` replace a policy file (a new
 * inode renamed over the old name). Every later change must still be served: Node 20's recursive
 * fs.watch loses a replaced file, so the watcher also re-checks the folder's content.
 */
describe('hot reload when policy files are replaced, not edited in place', () => {
  it('serves a replacement, an edit of the replaced file, and another replacement', async () => {
    const h = await startHarness('server: { watch_policies: true }\n');
    await h.warden.close();
    const file = join(h.dir, 'policies', 'kb.yaml');
    writeFileSync(file, kb(1, 'deny'));
    const server = await serve(join(h.dir, 'warden.yaml'), { port: 0, logger: { level: 'error' }, modules: [] });
    const served = (version: number) => server.warden.policySet.policies.some((p) => p.id === 'kb' && String(p.version) === String(version));
    const replace = (text: string) => {
      writeFileSync(`${file}.tmp~`, text);
      renameSync(`${file}.tmp~`, file);
    };
    try {
      expect(served(1)).toBe(true);
      const bundles = [server.warden.policySet.bundle];
      const changed = async (version: number, what: string) => {
        await until(() => served(version), what);
        expect(bundles).not.toContain(server.warden.policySet.bundle);
        bundles.push(server.warden.policySet.bundle);
      };

      replace(kb(2, 'allow'));
      await changed(2, 'the first replacement');

      writeFileSync(file, kb(3, 'deny')); // an edit in place of the file that replaced the original
      await changed(3, 'an edit of the replaced file');

      replace(kb(4, 'allow'));
      await changed(4, 'the second replacement');

      writeFileSync(file, kb(5, 'allow'));
      await changed(5, 'an edit after the second replacement');
    } finally {
      await server.close();
      await h.tools.close();
    }
  }, 60_000);
});
