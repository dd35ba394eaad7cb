import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** A parsed YAML file that can say where a value (or a key) sits in the text. */
export class YamlSource {
  readonly document: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.document = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The node at `path`, or the nearest ancestor that exists (a missing field points at its parent). */
  nodeAt(path: ReadonlyArray<PropertyKey>): Node | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.document.getIn(path.slice(0, n) as Array<string | number>, true);
      if (node && typeof node === 'object' && 'range' in node) return node as Node;
    }
    return this.document.contents ?? undefined;
  }

  locate(path: ReadonlyArray<PropertyKey>): { line: number; column: number } {
    const node = this.nodeAt(path);
    return this.position(node?.range?.[0] ?? 0);
  }

  /** Where the key `key` of the mapping at `path` is written: used for unknown-field errors. */
  locateKey(path: ReadonlyArray<PropertyKey>, key: string): { line: number; column: number } {
    const node = this.nodeAt(path);
    if (node && isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key) && pair.key.value === key && pair.key.range) {
          return this.position(pair.key.range[0]);
        }
      }
    }
    return this.locate(path);
  }

  /**
   * Where character `index` of the string scalar at `path` is. Exact for plain and quoted one-line
   * scalars; block scalars point at their first content line.
   */
  locateInScalar(path: ReadonlyArray<PropertyKey>, index: number): { line: number; column: number } {
    const node = this.nodeAt(path);
    if (!node || !isScalar(node) || !node.range) return this.locate(path);
    const start = node.range[0];
    switch (node.type) {
      case 'QUOTE_DOUBLE':
      case 'QUOTE_SINGLE':
        return this.position(start + 1 + index);
      case 'BLOCK_FOLDED':
      case 'BLOCK_LITERAL': {
        const lineEnd = this.text.indexOf('\n', start);
        let content = lineEnd < 0 ? start : lineEnd + 1;
        while (this.text[content] === ' ') content++;
        return this.position(content);
      }
      default:
        return this.position(start + index);
    }
  }
}
