import type { CompiledRule } from '../policy-set.js';
import type { Environment } from '@marcbachmann/cel-js';
import { checkArguments, checkerFor, type ArgumentProblem } from './argument-check.js';
import type { Finding } from './finding.js';
import { argumentShape, type ObjectShape } from './json-schema-shape.js';
import type { RuleLocator } from './rule-locator.js';
import { appliesToToolCalls, toolsOfRule, type ToolInfo } from './tool-catalog.js';

/** A finding about arguments, and whether it holds for every tool the rule can apply to. */
export interface ArgumentFinding {
  finding: Finding;
  /**
   * The condition reads, unguarded, an argument that no tool the rule matches can ever have (each
   * is typed by a closed schema): it fails on every call. What the gateway refuses to load.
   */
  everyTool: boolean;
}

/** Shapes and check results are cached: many rules share tools, and many tools share conditions. */
export class ArgumentChecker {
  private readonly shapes = new Map<string, ObjectShape | undefined>();
  private readonly results = new Map<string, ArgumentProblem[]>();
  private readonly checkers = new Map<string, Environment>();

  constructor(private readonly tools: readonly ToolInfo[]) {}

  shape(tool: ToolInfo): ObjectShape | undefined {
    if (!this.shapes.has(tool.name)) this.shapes.set(tool.name, argumentShape(tool.inputSchema));
    return this.shapes.get(tool.name);
  }

  private problems(condition: string, tool: ToolInfo, shape: ObjectShape): ArgumentProblem[] {
    const key = `${tool.name}\u0000${condition}`;
    let found = this.results.get(key);
    if (!found) {
      let checker = this.checkers.get(tool.name);
      if (!checker) this.checkers.set(tool.name, (checker = checkerFor(shape)));
      this.results.set(key, (found = checkArguments(condition, shape, checker)));
    }
    return found;
  }

  /** The rule's condition checked against each tool it can apply to. */
  check(rule: CompiledRule, locator: RuleLocator): ArgumentFinding[] {
    if (rule.whenSource === undefined || !appliesToToolCalls(rule)) return [];
    const matched = toolsOfRule(rule, this.tools);
    const typed = matched.map((tool) => ({ tool, shape: this.shape(tool) })).filter((t): t is { tool: ToolInfo; shape: ObjectShape } => t.shape !== undefined);
    if (typed.length === 0) return [];
    const byPlace = new Map<string, Array<{ tool: string; problem: ArgumentProblem }>>();
    for (const { tool, shape } of typed) {
      for (const problem of this.problems(rule.whenSource, tool, shape)) {
        const place = `${problem.kind}\u0000${problem.path.join('.')}\u0000${problem.start}`;
        const list = byPlace.get(place) ?? [];
        list.push({ tool: tool.name, problem });
        byPlace.set(place, list);
      }
    }
    const out: ArgumentFinding[] = [];
    for (const list of byPlace.values()) {
      const first = list[0]!.problem;
      const at = locator.inCondition(rule, first.start);
      const base = { policy: rule.policy.id, rule: rule.id, file: rule.file, ...at };
      const names = list.map((e) => e.tool);
      const toolText = names.length === 1 ? `tool ${names[0]}` : `tools ${names.join(', ')}`;
      const argument = `args.${first.path.join('.')}`;
      if (first.kind === 'type') {
        const outcome =
          first.operator === '==' || first.operator === 'in'
            ? 'is always false'
            : first.operator === '!='
              ? 'is always true'
              : 'fails on every call that carries it (a deny then matches, an allow never does)';
        out.push({
          everyTool: false,
          finding: {
            ...base,
            severity: 'error',
            code: 'argument-type',
            message: `${argument} is a ${typeName(first.argumentType)} in the input schema of ${toolText}; comparing it with a ${typeName(first.otherType)} (${first.operator}) ${outcome}`,
            hint: `compare like with like, e.g. ${example(argument, first.argumentType)}`,
          },
        });
        continue;
      }
      const unknowns = list as Array<{ tool: string; problem: Extract<ArgumentProblem, { kind: 'unknown' }> }>;
      const suggestion = unknowns.find((e) => e.problem.suggestion)?.problem.suggestion;
      const hint = suggestion ? `did you mean ${suggestion}?` : undefined;
      if (first.guarded) {
        // has(args.x) && args.x … is the way to write a rule for tools with and without x: only a
        // likely typo is worth a word.
        if (!suggestion || !unknowns.every((e) => e.problem.closed) || unknowns.length !== typed.length) continue;
        out.push({
          everyTool: false,
          finding: { ...base, severity: 'warning', code: 'unknown-argument', message: `${argument} is not an argument of ${toolText}: the has() test around it is always false, so that part of the condition never applies`, hint: hint! },
        });
        continue;
      }
      const everyTool = unknowns.length === matched.length && unknowns.every((e) => e.problem.closed);
      const consequence = 'the condition fails on every such call (a deny then matches, an allow never does)';
      const severity = everyTool || suggestion ? 'error' : 'warning';
      const allowed = unknowns.every((e) => e.problem.closed) ? '' : ' (its schema allows undeclared arguments, so this may be intended)';
      out.push({
        everyTool,
        finding: {
          ...base,
          severity,
          code: 'unknown-argument',
          message: `${argument} is not an argument of ${toolText}${allowed}: ${consequence}`,
          hint: hint ?? (everyTool ? 'check the name against the tool\'s input_schema' : `guard it: has(${argument}) && …, or name only the tools that take it`),
        },
      });
    }
    return out;
  }
}

const typeName = (type: string) => (type === 'double' || type === 'int' || type === 'uint' ? 'number' : type);

function example(argument: string, type: string): string {
  if (type === 'string') return `${argument} == '100', or double(${argument}) > 100.0`;
  if (type === 'bool') return `${argument} == true`;
  return `${argument} > 100`;
}
