import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

it('examples/warden.postgres.yaml is examples/warden.yaml with its state on Postgres and Redis, nothing else', async () => {
  const sqlite = await loadConfig(example('warden.yaml'));
  const postgres = await loadConfig(example('warden.postgres.yaml'));
  if (!sqlite.ok || !postgres.ok) throw new Error('an example config does not load');
  expect(postgres.config.storage).toMatch(/^postgres:\/\/.+\?schema=warden$/);
  expect(postgres.config.redis?.url).toBe('redis://127.0.0.1:6379');
  const { storage: _a, postgres: _b, redis: _c, file: _g, ...rest } = postgres.config;
  const { storage: _d, postgres: _e, redis: _f, file: _h, ...restSqlite } = sqlite.config;
  expect(rest).toEqual(restSqlite);
});

it('refuses postgres storage without redis, saying why and where', () => {
  const result = parseConfig('storage: postgres://postgres@127.0.0.1:5432/test\n', '/tmp/warden.yaml');
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.diagnostics).toEqual([expect.objectContaining({ line: 1, message: 'postgres storage needs redis too', hint: expect.stringContaining('redis: { url: redis://') })]);
});

it('refuses a redis url that is not one', () => {
  const result = parseConfig('redis: { url: "http://127.0.0.1:6379" }\n', '/tmp/warden.yaml');
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.diagnostics[0]?.message).toMatch(/redis:\/\//);
});
