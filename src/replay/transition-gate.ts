import { EFFECTS, type Effect } from '../model/effect.js';
import type { ReplayReport } from './replay-report.js';

/** One `--fail-on` entry: a transition (either side may be `*`), or any undetermined record. */
export type Gate = { from: Effect | '*'; to: Effect | '*' } | { undetermined: true };

/**
 * Parses `deny→allow,allow->require_approval,*→allow,undetermined` (`→` or `->`). Throws an
 * Error naming the entry that is not one.
 */
export function parseGates(text: string): Gate[] {
  const gates: Gate[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry === 'undetermined') {
      gates.push({ undetermined: true });
      continue;
    }
    const parts = entry.split(/→|->/);
    const side = (s: string | undefined): Effect | '*' | undefined => {
      const v = s?.trim();
      return v === '*' ? '*' : (EFFECTS as readonly string[]).includes(v ?? '') ? (v as Effect) : undefined;
    };
    const from = side(parts[0]);
    const to = side(parts[1]);
    if (parts.length !== 2 || !from || !to) {
      throw new Error(`"${entry}" is not a transition: write from→to (or from->to) with ${EFFECTS.join(', ')} or *, e.g. deny→allow; or "undetermined"`);
    }
    gates.push({ from, to });
  }
  if (gates.length === 0) throw new Error('no transition given (e.g. deny→allow,allow→require_approval)');
  return gates;
}

/** The transitions (and undetermined count) of a report that a gate catches, e.g. `deny→allow: 3`. */
export function gatedFindings(report: ReplayReport, gates: readonly Gate[]): string[] {
  const found: string[] = [];
  for (const t of report.transitions) {
    const [from, to] = t.transition.split('→') as [Effect, Effect];
    if (gates.some((g) => !('undetermined' in g) && (g.from === '*' || g.from === from) && (g.to === '*' || g.to === to))) found.push(`${t.transition}: ${t.count}`);
  }
  if (report.undetermined > 0 && gates.some((g) => 'undetermined' in g)) found.push(`undetermined: ${report.undetermined}`);
  return found;
}
