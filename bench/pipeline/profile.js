/**
 * The headline row of the pipeline benchmark (API key, audit on, allowed read) in a loop, for a
 * CPU profile, then a summary of it:
 *
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/warden-prof bench/pipeline/profile.js [--session] [seconds] [callers]
 *   node bench/pipeline/profile.js --summarise /tmp/warden-prof/<file>.cpuprofile
 *
 * --session: each call names one of 64 sessions (`session-<n % 64>`), as bench:pipeline's session
 * row does. The profile then has two files (the checkpointer is a worker thread): the main
 * thread's is the one ending in .0.001.cpuprofile.
 *
 * The loop is the benchmark's: each caller yields to the event loop after each call, so the
 * decision log's group commit runs as it does there (default 1 caller: one record per transaction).
 */
import { readFileSync, rmSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import { AGENT, TENANT, TOOL, argumentSets, startBenchWarden } from './setup.js';

async function loop(seconds, count, session) {
  const { warden, key, dir } = await startBenchWarden();
  const args = argumentSets();
  const credentials = { kind: 'api_key', key };
  let next = 0;
  let failed = 0;
  let firstFailure = '';
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const caller = async () => {
    while (process.hrtime.bigint() < end) {
      const r = await warden.pipeline.call({ agentId: AGENT, tool: TOOL, tenant: TENANT, args: args[next % args.length], requestId: `prof-${++next}`, ...(session ? { sessionId: `session-${next % 64}` } : {}) }, credentials);
      if (r.status !== 'executed' && failed++ === 0) firstFailure = ` (first: ${r.status}: ${r.decision.reason})`;
      await yieldToLoop();
    }
  };
  await Promise.all(Array.from({ length: count }, caller));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await warden.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${next.toLocaleString('en-US')} calls in ${secs.toFixed(1)} s: ${Math.round(next / secs).toLocaleString('en-US')} calls/s, ${failed} not executed${firstFailure}`);
}

/** Self time by function (file:function:line) and by file, and inclusive time of the stages. */
function summarise(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const where = (cf) => {
    const path = cf.url.replace(/^file:\/\//, '').replace(/.*\/(dist|node_modules|bench)\//, '$1/');
    return path || '(native)';
  };
  const name = (cf) => `${where(cf)}:${cf.functionName || '(anonymous)'}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  let total = 0;
  let idle = 0;
  const fnSelf = new Map();
  const fileSelf = new Map();
  for (const n of profile.nodes) {
    const t = selfUs.get(n.id) ?? 0;
    total += t;
    if (n.callFrame.functionName === '(idle)') idle += t;
    fnSelf.set(name(n.callFrame), (fnSelf.get(name(n.callFrame)) ?? 0) + t);
    fileSelf.set(where(n.callFrame), (fileSelf.get(where(n.callFrame)) ?? 0) + t);
  }
  // Inclusive time of a function: its subtree, counted once when it recurses.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const subtree = new Map();
  const totalOf = (id) => {
    if (subtree.has(id)) return subtree.get(id);
    const n = byId.get(id);
    const t = (selfUs.get(id) ?? 0) + (n.children ?? []).reduce((s, c) => s + totalOf(c), 0);
    subtree.set(id, t);
    return t;
  };
  const inclusive = (fnName, fileHint) => {
    let t = 0;
    for (const n of profile.nodes) {
      if (n.callFrame.functionName !== fnName || (fileHint && !n.callFrame.url.includes(fileHint))) continue;
      let p = parent.get(n.id);
      let nested = false;
      while (p !== undefined) {
        const pn = byId.get(p);
        if (pn.callFrame.functionName === fnName && (!fileHint || pn.callFrame.url.includes(fileHint))) {
          nested = true;
          break;
        }
        p = parent.get(p);
      }
      if (!nested) t += totalOf(n.id);
    }
    return t;
  };
  const busy = total - idle;
  const pct = (t) => `${((100 * t) / busy).toFixed(1)}%`;
  const out = [`profile ${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy time)`, '', `top ${top} functions by self time:`];
  for (const [k, t] of [...fnSelf].filter(([k]) => !k.startsWith('(native):(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(t).padStart(6)}  ${k}`);
  out.push('', 'self time by file (top 12):');
  for (const [k, t] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, 12)) out.push(`  ${pct(t).padStart(6)}  ${k}`);
  out.push('', 'inclusive time of the stages and of what they call:');
  const stages = [
    ['call', 'enforcement/pipeline'],
    ['authenticate', 'stages/authenticate'],
    ['verify', 'auth/agent-credentials'],
    ['getCredential', 'store/sqlite/'],
    ['remember', 'enforcement/replay-guard'],
    ['rememberRequestId', 'store/sqlite/'],
    ['sha256', 'auth/credentials'],
    ['resolveAgent', 'stages/resolve-agent'],
    ['getAgent', 'store/sqlite/'],
    ['checkArguments', 'stages/check-arguments'],
    ['validate', 'upstream/tool-registry'],
    ['findLimitViolation', 'json-limits'],
    ['structuredClone', ''],
    ['guardTenant', 'stages/tenant-guard'],
    ['checkRateLimits', 'stages/limits'],
    ['admit', 'enforcement/pipeline'],
    ['buildRequest', 'enforcement/pipeline'],
    ['buildActionRequest', 'enforcement/request-builder'],
    ['relationshipsOf', 'store/sqlite/'],
    ['addSignals', 'stages/signals'],
    ['decideWithPolicy', 'stages/policy-decision'],
    ['decide', 'policy/decide'],
    ['execute', 'enforcement/pipeline'],
    ['inspectResult', 'stages/signals'],
    ['settle', 'enforcement/pipeline'],
    ['update', 'enforcement/session-state'],
    ['withExecution', 'stages/signals'],
    ['chargeSessionBudget', 'stages/limits'],
    ['sessionView', 'guards/sequence'],
    ['getSession', 'store/sqlite/'],
    ['putSession', 'store/sqlite/'],
    ['auditRecord', 'enforcement/audit-record'],
    ['redact', 'audit/redact'],
    ['redactText', 'audit/redact'],
    ['append', 'enforcement/decision-recorder'],
    ['append', 'audit/decision-log'],
    ['measure', 'enforcement/pipeline'],
    ['exchange', 'enforcement/telemetry'],
    ['span', 'enforcement/telemetry'],
    ['recordHash', 'audit/hash-chain'],
    ['canonicalJson', 'canonical-json'],
    ['flushOnce', 'audit/decision-log'],
    ['appendDecisions', 'store/sqlite/'],
    ['appendChained', 'store/sqlite/'],
    ['linkRecord', 'audit/decision-log'],
    ['decisionParams', 'store/sqlite/'],
    ['(garbage collector)', ''],
  ];
  for (const [fnName, hint] of stages) {
    const t = inclusive(fnName, hint);
    if (t > 0) out.push(`  ${pct(t).padStart(6)}  ${fnName}${hint ? ` (${hint})` : ''}`);
  }
  return out.join('\n');
}

if (process.argv[2] === '--summarise') {
  console.log(summarise(process.argv[3], Number(process.argv[4] ?? 15)));
} else {
  const session = process.argv.includes('--session');
  const rest = process.argv.slice(2).filter((a) => a !== '--session');
  loop(Number(rest[0] ?? 6), Number(rest[1] ?? 1), session).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
