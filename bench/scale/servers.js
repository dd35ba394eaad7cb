/**
 * Private PostgreSQL and Redis servers for the scale benchmark, so that their CPU time can be
 * measured and nothing else shares them: a PostgreSQL 15 cluster made with initdb in a temp folder
 * owned by the postgres user (pg_ctl, its own port and socket folder, stock settings: fsync and
 * synchronous_commit on), and a redis-server child process (no persistence). Also: CPU seconds of
 * a process, and of a PostgreSQL cluster (postmaster, its backends, and what finished backends
 * used).
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const PG_BIN = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Fields of /proc/<pid>/stat after the command name (index 0 = state), or undefined. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** user+system CPU seconds of a process so far (Linux /proc; USER_HZ 100), or NaN. */
export function cpuSeconds(pid) {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : NaN;
}

/** CPU seconds of a process, its live children, and the children it has waited for. */
export function treeCpuSeconds(rootPid) {
  const f = statFields(rootPid);
  if (!f) return NaN;
  let total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // utime stime cutime cstime
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const c = statFields(name);
    if (c && Number(c[1]) === rootPid) total += (Number(c[11]) + Number(c[12])) / 100;
  }
  return total;
}

/** CPU seconds the whole machine spent busy so far (all cores), or NaN. */
export function machineBusySeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

const asPostgres = (args) => execFileP('runuser', ['-u', 'postgres', '--', ...args], { maxBuffer: 16 * 1024 * 1024 });

/** Whether a private PostgreSQL can be made here (its binaries, root to run them as postgres). */
export function canRunPrivatePostgres() {
  return existsSync(join(PG_BIN, 'initdb')) && process.getuid?.() === 0;
}

export async function startPrivatePostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-pg-'));
  const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  await asPostgres([join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
  const port = await freePort();
  await asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const version = /(\d+\.\d+)/.exec((await execFileP(join(PG_BIN, 'postgres'), ['--version'])).stdout)?.[1] ?? '?';
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid,
    version,
    cpu: () => treeCpuSeconds(pid),
    async close() {
      await asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPrivateRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  await new Promise((resolve, reject) => {
    const onData = (b) => {
      out += b;
      if (out.includes('Ready to accept connections')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(() => reject(new Error(`redis-server exited:\n${out}`)));
  });
  const version = (await execFileP('redis-server', ['--version'])).stdout.trim().split(' ').find((w) => w.startsWith('v='))?.slice(2) ?? '?';
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    version,
    cpu: () => cpuSeconds(child.pid),
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
