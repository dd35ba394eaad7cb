import { watch, type FSWatcher } from 'node:fs';

/**
 * Watches the policy folder and calls `reload` once changes settle. Editors write files in
 * several steps (temp file, rename), so events are debounced; a burst gives one reload.
 */
export function watchPolicies(dir: string, reload: () => Promise<unknown>, debounceMs = 250): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  let watcher: FSWatcher | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => reload().then(() => undefined, () => undefined));
    }, debounceMs);
  };
  try {
    watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (!file || /\.ya?ml$/.test(String(file))) schedule();
    });
  } catch {
    // A folder that cannot be watched still serves; reload stays available on the API.
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
