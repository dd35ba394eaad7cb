import type { CaseResult } from '../../policy/test-suite.js';

const escape = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** JUnit XML, the format CI systems read test results in. */
export function toJunit(results: readonly CaseResult[]): string {
  const suites = new Map<string, CaseResult[]>();
  for (const r of results) suites.set(r.suite, [...(suites.get(r.suite) ?? []), r]);
  const failures = results.filter((r) => !r.passed).length;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="warden policy tests" tests="${results.length}" failures="${failures}">`];
  for (const [name, cases] of suites) {
    const failed = cases.filter((c) => !c.passed).length;
    out.push(`  <testsuite name="${escape(name)}" tests="${cases.length}" failures="${failed}">`);
    for (const c of cases) {
      const open = `    <testcase name="${escape(c.name)}" classname="${escape(name)}" file="${escape(c.file)}" line="${c.line}"`;
      if (c.passed) out.push(`${open}/>`);
      else {
        out.push(`${open}>`, `      <failure message="${escape(c.failures[0] ?? 'failed')}">${escape(c.failures.join('\n'))}</failure>`, '    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}
