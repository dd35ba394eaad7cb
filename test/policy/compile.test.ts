import { describe, expect, it } from 'vitest';
import { compilePolicies } from '../../src/policy/index.js';
import { diagnosticsOf, policySet } from './helpers.js';

const valid = `id: refunds
version: 3
rules:
  - id: small
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
`;

describe('compiling policies', () => {
  it('compiles a valid policy into a set with a sha256 bundle revision', () => {
    const set = policySet(valid);
    expect(set.rules.map((r) => r.key)).toEqual(['refunds/small']);
    expect(set.bundle).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(set.policies[0]).toMatchObject({ id: 'refunds', version: '3', mode: 'enforce' });
  });

  it('reports an unknown field with its position and a did-you-mean hint', () => {
    const typo = diagnosticsOf(valid.replace('    effect: allow', '    efect: allow'));
    expect(typo.map((r) => [r.code, r.line, r.message])).toEqual([
      ['schema', 4, 'rules[0].effect is required'],
      ['unknown-field', 5, 'unknown field "efect" in rules[0]'],
    ]);
    const unknown = diagnosticsOf(valid.replace('    effect: allow', '    effect: allow\n    efect: allow')).find((x) => x.code === 'unknown-field');
    expect(unknown).toMatchObject({ file: 'p0.yaml', line: 6, column: 5, message: 'unknown field "efect" in rules[0]', hint: 'did you mean "effect"?' });
  });

  it('reports malformed YAML with its position and builds no set', () => {
    const result = compilePolicies([{ file: 'bad.yaml', text: 'id: [unclosed\n' }]);
    expect(result.policySet).toBeUndefined();
    expect(result.diagnostics[0]).toMatchObject({ file: 'bad.yaml', code: 'yaml', severity: 'error' });
  });

  it('reports CEL syntax errors at the column inside the condition', () => {
    const [d] = diagnosticsOf(valid.replace('args.amount <= 100', 'args.amount <='));
    expect(d).toMatchObject({ code: 'cel-syntax', line: 7, column: 12 + 'args.amount <='.length });
  });

  it('reports unknown variables with a suggestion', () => {
    const [d] = diagnosticsOf(valid.replace('args.amount <= 100', "agnt.id == 'x'"));
    expect(d).toMatchObject({ code: 'unknown-variable', line: 7, column: 12, message: 'Unknown variable: agnt', hint: 'did you mean "agent"?' });
  });

  it('reports CEL type errors and non-boolean conditions', () => {
    expect(diagnosticsOf(valid.replace('args.amount <= 100', "'a' + 1 == 'a1'"))[0]?.code).toBe('cel-type');
    expect(diagnosticsOf(valid.replace('args.amount <= 100', '1 + 2'))[0]).toMatchObject({
      code: 'cel-type',
      message: 'a condition must be a bool; this one is int',
    });
  });

  it('reports duplicate policy ids across files and duplicate rule ids within a policy', () => {
    const dup = diagnosticsOf(valid, valid);
    expect(dup).toHaveLength(1);
    expect(dup[0]).toMatchObject({ code: 'duplicate-id', file: 'p1.yaml', line: 1 });
    expect(dup[0]?.message).toContain('already used at p0.yaml:1');
    const twice = diagnosticsOf(`${valid}  - id: small\n    effect: deny\n`);
    expect(twice[0]).toMatchObject({ code: 'duplicate-id', line: 8 });
  });

  it('reports unknown obligation types and malformed obligations', () => {
    const text = `${valid}    obligations:\n      - redakt: [args.x]\n      - cap: { arg: limit }\n      - redact: [customer_email]\n`;
    const ds = diagnosticsOf(text);
    expect(ds.map((d) => [d.code, d.line])).toEqual([
      ['unknown-obligation', 9],
      ['obligation', 10],
      ['obligation', 11],
    ]);
    expect(ds[0]?.hint).toContain('redact, cap, require_idempotency_key, filter_tenant');
  });

  it('reports every problem of a file in one run, not only the first', () => {
    const text = `id: p
version: 1
rules:
  - id: a
    efect: deny
  - id: b
    effect: allow
    when: "nope == 1"
  - id: c
    effect: allow
    obligations: [{ shout: true }]
`;
    expect(diagnosticsOf(text).map((d) => d.code)).toEqual(['schema', 'unknown-field', 'unknown-variable', 'unknown-obligation']);
  });

  it('rejects approval settings on rules that do not require approval, and bad durations', () => {
    const onAllow = diagnosticsOf(`${valid}    approval: { approvers: ["role:x"] }\n`);
    expect(onAllow[0]?.message).toContain('approval is only valid on require_approval rules');
    const badExpiry = diagnosticsOf(valid.replace('effect: allow', 'effect: require_approval') + '    approval: { approvers: ["role:x"], expires: 1y }\n');
    expect(badExpiry[0]?.message).toContain('is not a duration');
  });

  it('reports tool names and globs that match no known tool', () => {
    const text = valid.replace('[issue_refund]', '[issue_refnd, delete_*, issue_*]');
    const result = compilePolicies([{ file: 'p.yaml', text }], { knownTools: ['issue_refund', 'read_orders'] });
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column, d.hint])).toEqual([
      ['unmatched-tool', 6, 13, 'did you mean "issue_refund"?'],
      ['unmatched-tool', 6, 26, 'check the name against the tool registry'],
    ]);
  });

  it('reports reason templates that do not compile', () => {
    const ds = diagnosticsOf(`${valid}    reason: "for \${agent.idd"\n`);
    expect(ds[0]).toMatchObject({ code: 'template', line: 8 });
  });

  it('rejects an effective window that ends before it starts', () => {
    const ds = diagnosticsOf(valid.replace('version: 3', 'version: 3\neffective: { from: "2027-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z" }'));
    expect(ds[0]?.message).toBe('effective.from must be before effective.until');
  });

  it('survives hostile YAML: alias bombs, empty files, non-map documents', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    for (const text of [bomb.join('\n'), '', '42', '- a\n- b', 'id: x\nversion: 1\nrules: "nope"']) {
      const result = compilePolicies([{ file: 'h.yaml', text }]);
      expect(result.policySet).toBeUndefined();
      expect(result.diagnostics.length).toBeGreaterThan(0);
    }
  });

  it('gives the same bundle revision whatever the file names, order, comments and key order', () => {
    const a = policySet(valid, 'id: other\nversion: 1\nrules: [{id: r, effect: deny}]\n');
    const reordered = `# a comment\nrules:\n  - when: "args.amount <= 100"\n    tools: [issue_refund]\n    effect: allow\n    id: small\nversion: 3\nid: refunds\n`;
    const b = compilePolicies([
      { file: 'z/other.yml', text: 'version: 1\nid: other\nrules:\n  - {effect: deny, id: r}\n' },
      { file: 'a.yaml', text: reordered },
    ]).policySet!;
    expect(b.bundle).toBe(a.bundle);
    expect(policySet(valid.replace('<= 100', '<= 101')).bundle).not.toBe(policySet(valid).bundle);
  });
});
