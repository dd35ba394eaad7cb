/** A problem found in a policy or test file, located for an editor: `file:line:column`. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  code: DiagnosticCode;
  message: string;
  hint?: string;
}

export type DiagnosticCode =
  | 'io'
  | 'yaml'
  | 'schema'
  | 'unknown-field'
  | 'cel-syntax'
  | 'cel-type'
  | 'unknown-variable'
  | 'duplicate-id'
  | 'unknown-obligation'
  | 'obligation'
  | 'unmatched-tool'
  | 'unknown-argument'
  | 'template'
  | 'data'
  | 'env';

export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? `\n    hint: ${d.hint}` : '';
  return `${d.file}:${d.line}:${d.column}: ${d.severity} [${d.code}] ${d.message}${hint}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** The closest candidate by edit distance, for "did you mean" hints on typos. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The first line of an error message: parser errors run on with a code frame diagnostics don't need. */
export function firstLine(message: string | undefined): string {
  return (message ?? 'invalid expression').split('\n')[0]!.trim();
}
