/**
 * Prepares the InjecAgent part of the compromised-agent benchmark (bench/agent): a deterministic
 * sample of InjecAgent's public test cases (base setting, direct harm and data stealing) and the
 * simulated responses of the attacker's data-reading tools, from a clone of the repository.
 *
 *   node scripts/agent-bench/prepare-injecagent.mjs --mirror DIR [--every 5]
 *
 * DIR holds the repository as `<owner>+<name>` (a bare clone, or one with `/repo`); the source is
 * pinned in SOURCE below. Writes bench/agent/data/injecagent.json. Nothing here runs at Warden's
 * run time, and the benchmark itself needs no network.
 *
 * InjecAgent (Zhan et al., 2024; data MIT, Copyright (c) 2023 Qiusi Zhan) is read from the fork
 * enkryptai/xInjectAgent (its data/ is the original's). NOTE: the same cases' tool responses are
 * a TUNING source of the injection classifier (scripts/guard-data): the detector's part of this
 * benchmark is not held-out evidence.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = { repo: 'enkryptai/xInjectAgent', commit: '21af27703ad4e591b8fc686ab9d79249d299a0e8', license: 'MIT (LICENCE, Copyright (c) 2023 Qiusi Zhan)' };
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'bench', 'agent', 'data', 'injecagent.json');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const mirror = arg('--mirror');
const every = Number(arg('--every', '5'));
if (!mirror) {
  console.error('usage: node scripts/agent-bench/prepare-injecagent.mjs --mirror DIR [--every 5]');
  process.exit(2);
}
const base = join(mirror, SOURCE.repo.replace('/', '+'));
const gitDir = existsSync(join(base, 'repo')) ? join(base, 'repo') : base;
const show = (path) => execFileSync('git', ['--git-dir', gitDir, 'show', `${SOURCE.commit}:${path}`], { encoding: 'utf8', maxBuffer: 256 << 20 });

const cases = [];
for (const [kind, path] of [
  ['direct-harm', 'data/test_cases_dh_base.json'],
  ['data-stealing', 'data/test_cases_ds_base.json'],
]) {
  JSON.parse(show(path)).forEach((c, i) => {
    if (i % every !== 0) return;
    cases.push({
      id: `injecagent:${kind === 'direct-harm' ? 'dh' : 'ds'}:base:${i}`,
      kind,
      attackType: c['Attack Type'],
      userInstruction: c['User Instruction'],
      userTool: c['User Tool'],
      toolParameters: c['Tool Parameters'],
      // The template with the attacker's instruction in place (what the tool returns).
      toolResponse: c['Tool Response Template'].replace('<Attacker Instruction>', c['Attacker Instruction']),
      // The same response with an ordinary sentence in place: the benign run of the same user task.
      benignResponse: c['Tool Response Template'].replace('<Attacker Instruction>', 'Thanks, everything arrived as expected.'),
      attackerTools: c['Attacker Tools'],
      attackerInstruction: c['Attacker Instruction'],
      path,
    });
  });
}
// What the data-stealing cases' first attacker tool returns (the private data that would leave).
const simulated = JSON.parse(show('data/attacker_simulated_responses.json'));
const privateData = {};
for (const c of cases) {
  if (c.kind !== 'data-stealing') continue;
  const tool = c.attackerTools[0];
  const key = Object.keys(simulated).find((k) => k.startsWith(`(${tool},`));
  if (key && !(tool in privateData)) privateData[tool] = simulated[key];
}
writeFileSync(out, `${JSON.stringify({ source: SOURCE, every, cases, privateData }, null, 1)}\n`);
console.log(`wrote ${cases.length} cases (${Object.keys(privateData).length} private-data responses) to ${out}`);
