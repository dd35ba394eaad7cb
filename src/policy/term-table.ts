import { plainValue } from './condition-ast.js';

/**
 * The paths and string literals the conditions of one policy set test, numbered, shared by the
 * condition indexes of every tool: the look-ups a request makes go to this one small table
 * whichever tool it calls. Literal numbers only need to be equal when the strings are; a request
 * string that no term of the set names gets -1 and matches no term.
 */
export class TermTable {
  readonly paths: Array<readonly string[]> = [];
  private readonly pathIds = new Map<string, number>();
  private readonly literalIds = new Map<string, number>();
  /** The request whose values `values` holds, by path number, where `stamps` says `round`. */
  private current: Record<string, unknown> | undefined;
  private round = 0;
  private readonly values: unknown[] = [];
  private readonly stamps: number[] = [];

  pathId(path: readonly string[]): number {
    const key = JSON.stringify(path);
    let id = this.pathIds.get(key);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(path);
      this.pathIds.set(key, id);
    }
    return id;
  }

  literalId(literal: string): number {
    let id = this.literalIds.get(literal);
    if (id === undefined) this.literalIds.set(literal, (id = this.literalIds.size));
    return id;
  }

  /** The number of a request string, or -1 when no term of the set names it. */
  lookup(value: string): number {
    return this.literalIds.get(value) ?? -1;
  }

  /**
   * The value at a path (plainValue), read once per request: the deny and allow walks test the
   * same few paths. A new activation is a new request; evaluation is synchronous and does not
   * change an activation while its rules are evaluated (as judge() in condition-plan.ts assumes).
   */
  value(activation: Record<string, unknown>, pathId: number): unknown {
    if (activation !== this.current) {
      this.current = activation;
      this.round++;
    }
    if (this.stamps[pathId] === this.round) return this.values[pathId];
    const value = plainValue(activation, this.paths[pathId]!);
    this.values[pathId] = value;
    this.stamps[pathId] = this.round;
    return value;
  }
}
