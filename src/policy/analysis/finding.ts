/**
 * One result of policy analysis (`warden check --analyze`). Unlike a compile diagnostic, a finding
 * never stops a set from loading by itself: the command (or the gateway) decides what an error
 * costs. Located like a diagnostic, and named by policy and rule.
 */
export type Severity = 'error' | 'warning' | 'info';

export type FindingCode =
  /** An allow or require_approval rule a deny always overrides. */
  | 'shadowed-rule'
  /** A deny that another deny always covers: it never changes an outcome. */
  | 'redundant-deny'
  /** A tool name or glob that matches no registered tool. */
  | 'unmatched-tool'
  /** A rule that cannot fire for another reason (a condition false by construction, an ended window). */
  | 'never-fires'
  /** A condition reads an argument the tool's input schema does not have. */
  | 'unknown-argument'
  /** A condition compares an argument with a value of another type. */
  | 'argument-type'
  /** An allow rule that some deny also matches (informational: the deny wins there). */
  | 'allow-overlaps-deny'
  /** No test case exercises any rule of the policy. */
  | 'untested-policy'
  /** An obligation that cannot do what it says. */
  | 'obligation-never-applies'
  /** A tool glob matching tools of several MCP upstreams. */
  | 'glob-spans-upstreams';

export interface Finding {
  severity: Severity;
  code: FindingCode;
  policy: string;
  rule?: string;
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then by place: the order a reader fixes them in. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}

export function formatFinding(f: Finding): string {
  const where = f.rule ? `${f.policy}/${f.rule}` : f.policy;
  const hint = f.hint ? `\n    hint: ${f.hint}` : '';
  return `${f.file}:${f.line}:${f.column}: ${f.severity} [${f.code}] ${where}: ${f.message}${hint}`;
}
