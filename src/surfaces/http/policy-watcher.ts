import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Policies and tests (YAML), and policy data under data/ (YAML or JSON). */
const POLICY_FILE = /\.(ya?ml|json)$/;
/** File times come from the kernel's coarse clock, a tick behind Date.now(): compare with slack. */
const MTIME_SLACK_MS = 100;

export interface WatchPoliciesOptions {
  /** Quiet time after the last event before the folder is checked (a save is several steps). */
  debounceMs?: number;
  /** The folder is also checked this often, whatever the events say (0: never). */
  rescanMs?: number;
  /**
   * When the policies in force were read (epoch ms). A file changed since then, before the
   * watcher took its first look, is reloaded at once rather than taken as the baseline.
   */
  loadedAt?: number;
}

/**
 * Watches the policy folder and calls `reload` when the content of its policy files changed.
 *
 * Events alone cannot be trusted: editors that save by swapping files, `sed -i` and `git checkout`
 * replace a file (a new inode renamed over the name), and Node 20's recursive fs.watch keeps
 * watching the old inode, so later edits of that file raise no event at all. So an event only
 * triggers a check (debounced: a burst gives one), the folder is also checked every `rescanMs`,
 * and a check reloads only when the hash of every policy file's path and content differs from the
 * last one seen. A change that is refused (invalid policies) is not retried until the files change
 * again.
 */
export function watchPolicies(dir: string, reload: () => Promise<unknown>, options: WatchPoliciesOptions | number = {}): { ready: Promise<void>; close(): void } {
  const { debounceMs = 250, rescanMs = 2_000, loadedAt } = typeof options === 'number' ? { debounceMs: options } : options;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const first = folderState(dir);
  // Changed after the policies in force were read: unknown baseline, so the first check reloads.
  let seen: Promise<string | undefined> = first.then((state) => (loadedAt !== undefined && state && state.newest >= loadedAt - MTIME_SLACK_MS ? 'changed since loaded' : state?.hash));
  let running: Promise<void> = seen.then(() => undefined);

  const check = () => {
    running = running.then(async () => {
      if (closed) return;
      const [before, now] = [await seen, (await folderState(dir))?.hash];
      if (now === undefined || now === before) return;
      seen = Promise.resolve(now);
      await reload().catch(() => undefined);
    });
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  };
  const startWatching = () => {
    try {
      watcher = watch(dir, { recursive: true }, (_event, file) => {
        if (!file || POLICY_FILE.test(String(file))) schedule();
      });
      // The folder itself replaced or removed: watch again on the next rescan.
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      // A folder that cannot be watched (yet) is still rescanned; reload stays available on the API.
      watcher = undefined;
    }
  };
  startWatching();
  const rescan = rescanMs > 0 ? setInterval(() => {
    if (!watcher) startWatching();
    check();
  }, rescanMs) : undefined;
  rescan?.unref();
  const ready = seen.then((baseline) => {
    if (baseline === 'changed since loaded') check();
  });

  return {
    ready,
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(rescan);
      watcher?.close();
    },
  };
}

/**
 * sha256 over the sorted relative paths and contents of the folder's *.yaml (and data *.json) files, and the newest
 * modification time among them; undefined if the folder cannot be read.
 */
async function folderState(dir: string): Promise<{ hash: string; newest: number } | undefined> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    const paths = entries.filter((e) => e.isFile() && POLICY_FILE.test(e.name)).map((e) => join(e.parentPath, e.name)).sort();
    const hash = createHash('sha256');
    let newest = 0;
    for (const path of paths) {
      // Removed between listing and reading: left out, like the loader would.
      const [text, info] = await Promise.all([readFile(path), stat(path)]).catch(() => [undefined, undefined]);
      if (text === undefined || info === undefined) continue;
      newest = Math.max(newest, info.mtimeMs);
      hash.update(relative(dir, path)).update('\0').update(String(text.length)).update('\0').update(text);
    }
    return { hash: hash.digest('hex'), newest };
  } catch {
    return undefined;
  }
}
