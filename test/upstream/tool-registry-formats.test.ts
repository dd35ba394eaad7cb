import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ToolConfig } from '../../src/config/config-schema.js';
import { ToolRegistry } from '../../src/upstream/tool-registry.js';

const tool = (input_schema: Record<string, unknown>): ToolConfig => ({ name: 'fetch_page', description: '', risk: 'low', effect: 'read', tags: [], input_schema, idempotent: true, fail_open: false });

afterEach(() => vi.restoreAllMocks());

describe('JSON Schema formats in tool schemas', () => {
  it('are annotations: no warning for formats Ajv does not know, and the tool checks its own formats', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const registry = new ToolRegistry([
      tool({ type: 'object', properties: { url: { type: 'string', format: 'uri' }, at: { type: 'string', format: 'x-custom' } }, required: ['url'] }),
    ]);
    const registered = registry.get('fetch_page')!;
    expect(registered.validate({ url: 'docs/page.md', at: 'anything' })).toEqual([]);
    // Types and required properties are still enforced.
    expect(registered.validate({ url: 42 })).not.toEqual([]);
    expect(registered.validate({})).not.toEqual([]);
    expect([...warn.mock.calls, ...log.mock.calls].flat().join('\n')).not.toMatch(/unknown format/);
  });
});
