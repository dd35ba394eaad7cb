/**
 * Runs teardown steps in order, each bounded by `ms`, and fails naming the step that hung (a
 * bare afterAll timeout only says that something did). Every step runs even if one fails.
 */
export async function teardown(steps: Record<string, (() => Promise<unknown>) | undefined>, ms = 8_000): Promise<void> {
  const failures: string[] = [];
  for (const [name, step] of Object.entries(steps)) {
    if (!step) continue;
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([step(), hung]);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  if (failures.length > 0) throw new Error(`teardown failed — ${failures.join('; ')}`);
}
