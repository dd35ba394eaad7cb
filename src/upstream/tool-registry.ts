import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ToolConfig } from '../config/config-schema.js';
import type { ToolEntry } from '../model/action-request.js';
import { durationMs } from '../lib/duration.js';
import type { HttpToolTarget } from './http-tool.js';

/** A tool Warden knows: its registry entry for policies, its argument check and where it runs. */
export interface RegisteredTool {
  entry: ToolEntry;
  description: string;
  /** The JSON Schema of the arguments as configured (what MCP clients are shown). */
  inputSchema: Record<string, unknown>;
  /** Validates arguments; returns readable errors, none when valid. */
  validate(args: unknown): string[];
  http?: HttpToolTarget;
  idempotent: boolean;
  failOpen: boolean;
  spendArg?: string;
  /** Arguments that must not carry tainted values (the tool's `sensitive_args`); absent: the guards' defaults. */
  sensitiveArgs?: readonly string[];
  /** Argument names declared by the schema (to fill in a missing tenant). */
  declaredArgs: ReadonlySet<string>;
  /** Why every call is refused before any policy runs (an MCP tool whose definition changed). */
  blocked?: string;
}

/** Where a registered tool came from, beyond its config: the MCP upstream serving it. */
export interface ToolOrigin {
  server?: string;
  blocked?: string;
}

export class ToolRegistryError extends Error {}

// `format` is an annotation here, as JSON Schema 2020-12 makes it by default: the tool checks its
// own formats. Validating them would refuse calls the upstream accepts (and Ajv warned about every
// format it does not know, "uri" included, at every start).
const options = { strict: false, allErrors: true, validateFormats: false } as const;
const draft07 = new Ajv(options);
const draft2020 = new Ajv2020(options);

function compileSchema(tool: string, schema: Record<string, unknown> | undefined): ValidateFunction {
  const effective = schema ?? { type: 'object' };
  const ajv = typeof effective.$schema === 'string' && effective.$schema.includes('draft-07') ? draft07 : draft2020;
  try {
    return ajv.compile(effective);
  } catch (e) {
    throw new ToolRegistryError(`tool "${tool}": its input_schema is not a valid JSON Schema: ${(e as Error).message}`, { cause: e });
  }
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 10).map((e) => {
    const where = e.instancePath ? `args${e.instancePath.replace(/\//g, '.')}` : 'args';
    if (e.keyword === 'additionalProperties') return `${where} has an unexpected field "${String(e.params.additionalProperty)}"`;
    if (e.keyword === 'required') return `${where}.${String(e.params.missingProperty)} is required`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
}

export function registerTool(tool: ToolConfig, origin: ToolOrigin = {}): RegisteredTool {
  const validator = compileSchema(tool.name, tool.input_schema);
  const properties = (tool.input_schema?.properties ?? {}) as Record<string, unknown>;
  return {
    entry: { name: tool.name, risk: tool.risk, effect: tool.effect, tags: tool.tags, ...(origin.server ? { server: origin.server } : {}) },
    description: tool.description,
    inputSchema: tool.input_schema ?? { type: 'object' },
    validate: (args) => (validator(args) ? [] : describeErrors(validator.errors)),
    http: tool.http && {
      url: tool.http.url,
      method: tool.http.method,
      headers: tool.http.headers,
      timeoutMs: durationMs(tool.http.timeout),
      maxResponseBytes: tool.http.max_response_bytes,
    },
    idempotent: tool.idempotent,
    failOpen: tool.fail_open,
    spendArg: tool.spend_arg,
    ...(tool.sensitive_args ? { sensitiveArgs: tool.sensitive_args } : {}),
    declaredArgs: new Set(Object.keys(properties)),
    ...(origin.blocked ? { blocked: origin.blocked } : {}),
  };
}

export class ToolRegistry {
  private readonly tools = new Map<string, RegisteredTool>();

  constructor(tools: readonly ToolConfig[]) {
    for (const t of tools) this.add(t);
  }

  /** Adds or replaces a tool (the SDK's guard() registers the functions it wraps). */
  add(tool: ToolConfig, origin?: ToolOrigin): RegisteredTool {
    const registered = registerTool(tool, origin);
    this.tools.set(tool.name, registered);
    return registered;
  }

  remove(name: string): void {
    this.tools.delete(name);
  }

  /**
   * Why a name that is not registered cannot be called, when something knows better than
   * "unknown tool" (the MCP catalog: the tool of an upstream that is down). Set by its owner.
   */
  explainAbsent?: (name: string) => string | undefined;

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  all(): IterableIterator<RegisteredTool> {
    return this.tools.values();
  }
}
