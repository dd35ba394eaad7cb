import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { DEFAULT_GUARD_POLICIES, guardPolicyOptions } from '../../src/guards/default-policies.js';
import { analyzePolicies, unreadableArguments, type Finding, type ToolCatalog, type ToolInfo } from '../../src/policy/analysis/index.js';
import { compilePolicies, type PolicySource } from '../../src/policy/compile.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import { runTestSuites } from '../../src/policy/test-suite.js';

const REFUND_SCHEMA = { type: 'object', required: ['order_id', 'amount'], properties: { order_id: { type: 'string' }, amount: { type: 'number' } }, additionalProperties: false };
const ORDERS_SCHEMA = { type: 'object', properties: { customer_id: { type: 'string' }, limit: { type: 'integer' }, tenant: { type: 'string' } }, additionalProperties: false };
const TOOLS: ToolInfo[] = [
  { name: 'issue_refund', inputSchema: REFUND_SCHEMA },
  { name: 'read_orders', inputSchema: ORDERS_SCHEMA },
  { name: 'search', inputSchema: { type: 'object', properties: { query: { type: 'string' } } } },
];

function analyze(texts: string[], catalog: ToolCatalog | undefined = { tools: TOOLS }): Finding[] {
  const sources: PolicySource[] = texts.map((text, i) => ({ file: `p${i}.yaml`, text }));
  const { policySet, diagnostics } = compilePolicies(sources);
  if (!policySet) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return analyzePolicies({ policySet, sources, catalog });
}

const only = (findings: Finding[], code: Finding['code']) => findings.filter((f) => f.code === code);

const refunds = (rules: string) => `id: refunds\nversion: 1\nrules:\n${rules}`;

describe('policy analysis: rules that can never fire', () => {
  it('finds an allow shadowed by an unconditional deny on the same tool', () => {
    const found = only(
      analyze([
        refunds(`  - id: no-refunds
    effect: deny
    tools: [issue_refund]
  - id: small-refund
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
`),
      ]),
      'shadowed-rule',
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'warning', policy: 'refunds', rule: 'small-refund', file: 'p0.yaml', line: 7 });
    expect(found[0]!.message).toContain('refunds/no-refunds');
  });

  it('finds a shadow across policies through a wider glob and a weaker condition (a subset of the conjuncts)', () => {
    const found = only(
      analyze([
        `id: guard\nversion: 1\nrules:\n  - id: untrusted\n    effect: deny\n    tools: ["*"]\n    when: "agent.trust == 'low'"\n`,
        refunds(`  - id: low-trust-small
    effect: require_approval
    actions: [tool.call]
    tools: [issue_refund]
    when: "args.amount < 10 && agent.trust == 'low'"
`),
      ]),
      'shadowed-rule',
    );
    expect(found.map((f) => f.rule)).toEqual(['low-trust-small']);
  });

  it('claims nothing it cannot prove', () => {
    const scenarios = [
      // amount > 5000 implies amount > 1000, but ranges are not compared.
      refunds(`  - id: deny-large\n    effect: deny\n    tools: [issue_refund]\n    when: "args.amount > 1000"\n  - id: allow-larger\n    effect: allow\n    tools: [issue_refund]\n    when: "args.amount > 5000"\n`),
      // A deny with a condition the rule does not have.
      refunds(`  - id: deny-low\n    effect: deny\n    tools: [issue_refund]\n    when: "agent.trust == 'low'"\n  - id: allow\n    effect: allow\n    tools: [issue_refund]\n    when: "agent.trust == 'low' || args.amount < 5"\n`),
      // A deny naming fewer tools, or fewer actions.
      refunds(`  - id: deny-one-tool\n    effect: deny\n    tools: [issue_refund]\n  - id: allow-two-tools\n    effect: allow\n    tools: [issue_refund, read_orders]\n  - id: deny-calls\n    effect: deny\n    actions: [tool.call]\n    tools: [search]\n  - id: allow-any-action\n    effect: allow\n    tools: [search]\n`),
    ];
    for (const text of scenarios) expect(only(analyze([text]), 'shadowed-rule')).toEqual([]);
    // A shadow-mode policy's deny, or one with a narrower effective window.
    const allow = `id: search\nversion: 1\nrules:\n  - id: allow-search\n    effect: allow\n    tools: [search]\n`;
    expect(only(analyze([allow, `id: draft\nversion: 1\nmode: shadow\nrules:\n  - id: deny-all\n    effect: deny\n`]), 'shadowed-rule')).toEqual([]);
    expect(only(analyze([allow, `id: freeze\nversion: 1\neffective: { from: "2030-01-01T00:00:00Z", until: "2030-01-02T00:00:00Z" }\nrules:\n  - id: freeze\n    effect: deny\n    tools: [search]\n`]), 'shadowed-rule')).toEqual([]);
  });

  it('reports a deny covered by another deny as redundant (info), once for identical ones', () => {
    const findings = only(
      analyze([refunds(`  - id: a\n    effect: deny\n    tools: [issue_refund]\n  - id: b\n    effect: deny\n    tools: [issue_refund]\n`)]),
      'redundant-deny',
    );
    expect(findings.map((f) => [f.rule, f.severity])).toEqual([['b', 'info']]);
  });

  it('finds a condition false for every request, and a policy whose window has ended', () => {
    const findings = analyze([
      refunds(`  - id: disabled\n    effect: allow\n    tools: [issue_refund]\n    when: "args.amount > 1 && 1 > 2"\n`),
      `id: old\nversion: 1\neffective: { until: "2020-01-01T00:00:00Z" }\nrules:\n  - id: r\n    effect: allow\n    tools: [search]\n`,
    ]);
    const never = only(findings, 'never-fires');
    expect(never.map((f) => f.policy).sort()).toEqual(['old', 'refunds']);
    expect(never.find((f) => f.policy === 'refunds')!.message).toContain('"1 > 2"');
  });
});

describe('policy analysis: tools', () => {
  it('reports a glob that matches no registered tool as an error at the pattern', () => {
    const findings = only(analyze([refunds(`  - id: r\n    effect: allow\n    tools: [issue_refund, "refund_v2_*"]\n`)]), 'unmatched-tool');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', rule: 'r', line: 6 });
    expect(findings[0]!.message).toContain('"refund_v2_*" matches no registered tool');
    expect(findings[0]!.message).not.toContain('can never fire');
  });

  it('says the rule can never fire when none of its patterns matches, and leaves unlisted upstream namespaces alone', () => {
    const text = `id: docs\nversion: 1\nrules:\n  - id: r\n    effect: allow\n    tools: ["docs.*", "wiki.*"]\n`;
    const all = only(analyze([text], { tools: TOOLS }), 'unmatched-tool');
    expect(all.every((f) => f.message.endsWith('the rule can never fire'))).toBe(true);
    const withDocs = only(analyze([text], { tools: TOOLS, unlistedPrefixes: ['docs.'] }), 'unmatched-tool');
    expect(withDocs.map((f) => f.message)).toEqual(['pattern "wiki.*" matches no registered tool']);
    expect(only(analyze([text], { tools: TOOLS, complete: false }), 'unmatched-tool')).toEqual([]);
  });

  it('warns when a glob spans several MCP upstreams', () => {
    const tools: ToolInfo[] = [
      { name: 'docs.read_file', upstream: 'docs' },
      { name: 'code.read_file', upstream: 'code' },
      { name: 'docs.write_file', upstream: 'docs' },
    ];
    const findings = only(analyze([`id: p\nversion: 1\nrules:\n  - id: reads\n    effect: allow\n    tools: ["*.read_file", "docs.*"]\n`], { tools }), 'glob-spans-upstreams');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('"*.read_file" matches tools of 2 MCP upstreams (code, docs)');
  });
});

describe('policy analysis: typed arguments', () => {
  it('reports a misspelt argument with the name it probably meant, at the argument', () => {
    const text = refunds(`  - id: large-refund\n    effect: require_approval\n    tools: [issue_refund]\n    when: "args.order_id != '' && args.amout > 100"\n`);
    const [finding, ...rest] = only(analyze([text]), 'unknown-argument');
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ severity: 'error', rule: 'large-refund', hint: 'did you mean amount?', line: 7 });
    // Column of `args.amout` inside the quoted scalar: 11 for the opening quote, +1, +22.
    expect(text.split('\n')[6]!.slice(finding!.column - 1)).toMatch(/^args\.amout/);
    expect(finding!.message).toContain('args.amout is not an argument of tool issue_refund');
  });

  it('reports a string argument compared with a number', () => {
    const findings = only(analyze([refunds(`  - id: r\n    effect: deny\n    tools: [issue_refund]\n    when: "args.order_id > 100"\n`)]), 'argument-type');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error' });
    expect(findings[0]!.message).toContain('args.order_id is a string');
    expect(findings[0]!.message).toContain('comparing it with a number (>)');
  });

  it('says an equality between a string argument and a number is always false', () => {
    const [finding] = only(analyze([refunds(`  - id: r\n    effect: allow\n    tools: [issue_refund]\n    when: "100 == args.order_id"\n`)]), 'argument-type');
    expect(finding!.message).toContain('is always false');
  });

  it('does not flag what works at run time: numbers against int literals, guarded reads, unknown schemas', () => {
    const findings = analyze([
      refunds(`  - id: a\n    effect: allow\n    tools: [issue_refund]\n    when: "args.amount == 100 || args.amount in [1, 2] || args.amount + 1 > 3"\n`),
      `id: base\nversion: 1\nrules:\n  - id: tenant-arg\n    effect: deny\n    when: "has(args.tenant) && args.tenant != tenant"\n  - id: open\n    effect: allow\n    tools: [untyped]\n    when: "args.anything == 1"\n`,
    ], { tools: [...TOOLS, { name: 'untyped' }] });
    expect(findings.filter((f) => f.code === 'unknown-argument' || f.code === 'argument-type')).toEqual([]);
  });

  it('checks a rule against each tool it matches: an argument one of them lacks is a warning, a typo in one an error', () => {
    const findings = only(
      analyze([`id: p\nversion: 1\nrules:\n  - id: amount-cap\n    effect: deny\n    tools: [issue_refund, read_orders]\n    when: "args.amount > 1000"\n  - id: typo\n    effect: deny\n    tools: [issue_refund, read_orders]\n    when: "args.limt > 10"\n`]),
      'unknown-argument',
    );
    const amount = findings.find((f) => f.rule === 'amount-cap')!;
    expect(amount).toMatchObject({ severity: 'warning' });
    expect(amount.message).toContain('not an argument of tool read_orders');
    const typo = findings.find((f) => f.rule === 'typo')!;
    expect(typo).toMatchObject({ severity: 'error', hint: 'did you mean limit?' });
    expect(typo.message).toContain('tools issue_refund, read_orders');
  });

  it('rejects for loading only what is provable: exact tools, all closed schemas lacking the argument', () => {
    const sources = [
      { file: 'a.yaml', text: refunds(`  - id: exact\n    effect: allow\n    tools: [issue_refund]\n    when: "args.amout > 1"\n  - id: glob\n    effect: allow\n    tools: ["issue_*"]\n    when: "args.amout > 1"\n  - id: partial\n    effect: allow\n    tools: [issue_refund, read_orders]\n    when: "args.limit > 1"\n`) },
    ];
    const { policySet } = compilePolicies(sources);
    expect(unreadableArguments(policySet!, sources, TOOLS).map((f) => f.rule)).toEqual(['exact']);
  });
});

describe('policy analysis: obligations and tests', () => {
  it('finds obligations that cannot apply', () => {
    const findings = only(
      analyze([
        refunds(`  - id: r\n    effect: allow\n    tools: [issue_refund]\n    obligations:\n      - cap: { arg: amont, max: 10 }\n      - require_idempotency_key: { arg: key }\n      - cap: { arg: order_id, max: 5 }\n`),
        `id: draft\nversion: 1\nmode: shadow\nrules:\n  - id: r\n    effect: allow\n    obligations: [{ redact: [result.x] }]\n`,
      ]),
      'obligation-never-applies',
    );
    expect(findings.map((f) => [f.policy, f.severity, f.message.slice(0, 40)])).toEqual([
      ['refunds', 'error', 'require_idempotency_key names argument "'],
      ['refunds', 'warning', 'cap names argument "amont", which tool i'],
      ['refunds', 'warning', 'cap on "order_id": issue_refund declares'],
      ['draft', 'warning', 'obligations of a shadow-mode policy neve'],
    ]);
  });

  it('names policies no test case exercises', () => {
    const sources = [
      { file: 'a.yaml', text: refunds(`  - id: r\n    effect: allow\n    tools: [issue_refund]\n`) },
      { file: 'b.yaml', text: `id: untested\nversion: 1\nrules:\n  - id: r\n    effect: allow\n    tools: [search]\n` },
    ];
    const { policySet } = compilePolicies(sources);
    const suite = { file: 'a.test.yaml', text: `cases:\n  - name: refund\n    request: { tenant: t, actor: { agent: { id: a } }, action: tool.call, resource: { type: tool, id: issue_refund }, args: {} }\n    expect: { effect: allow }\n` };
    const run = runTestSuites(policySet!, [suite]);
    const findings = only(analyzePolicies({ policySet: policySet!, sources, cases: run.results }), 'untested-policy');
    expect(findings.map((f) => f.policy)).toEqual(['untested']);
  });
});

describe('policy analysis of the repository examples', () => {
  it('finds no error and no warning in examples/policies with the example registry', async () => {
    const configFile = fileURLToPath(new URL('../../examples/warden.yaml', import.meta.url));
    const loaded = await loadConfig(configFile);
    if (!loaded.ok) throw new Error('examples/warden.yaml does not load');
    const config = loaded.config;
    const { policySet, folder } = await loadPolicyFolder(config.policiesDir, guardPolicyOptions(true));
    const run = runTestSuites(policySet!, folder.tests);
    const tools: ToolInfo[] = config.tools.map((t) => ({ name: t.name, ...(t.input_schema ? { inputSchema: t.input_schema } : {}) }));
    // The docs upstream's tools as its MCP server lists them (the examples' names, closed schemas).
    const docs = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/tools.json', import.meta.url)), 'utf8')) as string[];
    for (const name of docs.filter((n) => n.startsWith('docs.'))) tools.push({ name, upstream: 'docs', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, additionalProperties: false } });
    const findings = analyzePolicies({ policySet: policySet!, sources: [...folder.policies, ...DEFAULT_GUARD_POLICIES], catalog: { tools }, cases: run.results });
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
    // The informational overlaps are real: e.g. files/members-read under files/outside-workspace.
    expect(findings.some((f) => f.code === 'allow-overlaps-deny' && f.rule === 'members-read')).toBe(true);
  });
});
