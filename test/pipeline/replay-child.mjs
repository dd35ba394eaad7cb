// Child process for the replay test: answers reads with an API key (their decision records are
// written by the decision log's group commit, which the answer does not wait for), prints
// "ack <request id>" for each answered read, and then stops running (as a process stalled or
// killed right after answering would), so the last records are still queued when it is killed.
import { createWarden } from '../../dist/services/warden.js';

const [config, key] = process.argv.slice(2);
const warden = await createWarden({ config });
warden.guard(async () => ({ notes: [] }), { name: 'read_notes', effect: 'read', risk: 'low' }, { agentId: 'reader', tenant: 'acme-corp' });
const read = async (requestId) => {
  const result = await warden.call({ agentId: 'reader', tenant: 'acme-corp', tool: 'read_notes', args: {}, requestId, via: 'http' }, { kind: 'api_key', key });
  if (result.status !== 'executed') throw new Error(`${requestId}: ${result.decision.reason}`);
  process.stdout.write(`ack ${requestId}\n`);
};

// Reads with the event loop free between them: their records get written.
for (let i = 0; i < 20; i++) {
  await read(`written-${i}`);
  await new Promise((r) => setTimeout(r, 5));
}
await warden.audit.flush();
// Reads answered back to back; then the process stops before the next group commit.
for (let i = 0; i < 20; i++) await read(`answered-${i}`);
process.stdout.write(`queued ${warden.recorder.log.depth}\n`);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until SIGKILL
