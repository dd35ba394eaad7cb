import { isMap, isScalar, isSeq } from 'yaml';
import { YamlSource } from '../../lib/source-map.js';
import type { PolicySource } from '../compile.js';
import type { CompiledRule } from '../policy-set.js';

type Field = 'id' | 'when' | 'tools' | 'obligations' | 'actions';

/**
 * Finds where a compiled rule (and a part of it) is written, from the policy texts it was compiled
 * from. A rule whose text is not at hand (a built-in policy not passed in) is located by the line
 * the compiler recorded.
 */
export class RuleLocator {
  private readonly texts = new Map<string, string>();
  /** Parsed when first asked for: most files have nothing to report. */
  private readonly parsed = new Map<string, YamlSource>();

  constructor(sources: readonly PolicySource[]) {
    for (const s of sources) this.texts.set(s.file, s.text);
  }

  private source(file: string): YamlSource | undefined {
    let source = this.parsed.get(file);
    const text = this.texts.get(file);
    if (!source && text !== undefined) this.parsed.set(file, (source = new YamlSource(file, text)));
    return source;
  }

  private path(rule: CompiledRule): { source: YamlSource; index: number } | undefined {
    const source = this.source(rule.file);
    const rules = source?.document.get('rules', true);
    if (!source || !isSeq(rules)) return undefined;
    const index = rules.items.findIndex((item) => isMap(item) && isScalar(item.get('id', true)) && item.get('id') === rule.id);
    return index < 0 ? undefined : { source, index };
  }

  /** The rule (or one of its fields, or an item of a list field). */
  at(rule: CompiledRule, field?: Field, item?: number): { line: number; column: number } {
    const found = this.path(rule);
    if (!found) return { line: rule.line, column: 1 };
    const path: PropertyKey[] = ['rules', found.index];
    if (field) path.push(field);
    if (field && item !== undefined) path.push(item);
    return found.source.locate(path);
  }

  /** Character `index` of the rule's condition. */
  inCondition(rule: CompiledRule, index: number): { line: number; column: number } {
    const found = this.path(rule);
    if (!found) return { line: rule.line, column: 1 };
    return found.source.locateInScalar(['rules', found.index, 'when'], index);
  }
}
