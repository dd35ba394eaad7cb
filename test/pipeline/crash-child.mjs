// Child process for the crash test: runs side-effecting calls as fast as it can and prints
// "ack <auditId>" only once each call has returned (its decision record is durable by then).
import { createWarden } from '../../dist/services/warden.js';

const warden = await createWarden({ config: process.argv[2] });
const note = warden.guard(async (args) => ({ saved: args.text.length }), { name: 'write_note', effect: 'write', risk: 'low' }, { agentId: 'writer', tenant: 'acme-corp' });
const read = warden.guard(async () => ({ notes: [] }), { name: 'read_notes', effect: 'read', risk: 'low' }, { agentId: 'writer', tenant: 'acme-corp' });
console.log('ready');
let n = 0;
async function worker() {
  for (;;) {
    const i = ++n;
    // Interleave reads (not awaited for durability) so the log is under mixed load.
    void read({}).catch(() => undefined);
    const result = await warden.pipeline.call({ agentId: 'writer', tenant: 'acme-corp', tool: 'write_note', args: { text: `note ${i}` } }, { kind: 'trusted' });
    if (result.status !== 'executed') throw new Error(result.decision.reason);
    process.stdout.write(`ack ${result.auditId}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
void note;
