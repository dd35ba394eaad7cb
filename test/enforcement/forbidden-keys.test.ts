/**
 * Credentials never travel in tool arguments: forbidden keys are compared after NFKC, case folding
 * and removal of invisible and separator characters, at any depth (arrays included), and
 * forbidden words (`secret`, `token`, `password`, `private_key` …) refuse every key they stand in
 * as whole words, with the false positives real tools would hit (`max_tokens`, `token_count`,
 * `page_token`, `secret_name`, `has_password: true`) left alone.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type WardenConfig } from '../../src/config/index.js';
import { ForbiddenKeys } from '../../src/enforcement/stages/forbidden-keys.js';
import { keyWords, squashKey } from '../../src/lib/key-words.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

function configWith(yaml: string): WardenConfig {
  const parsed = parseConfig(yaml, '/tmp/warden.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.config;
}
const defaults = new ForbiddenKeys(configWith('{}').arguments);

describe('key words', () => {
  it('folds case, separators, invisible characters, compatibility forms and look-alike letters', () => {
    for (const key of ['password', 'PASSWORD', 'PASS_WORD', 'pass-word', 'Pass.Word', 'pass word', 'pass\u200bword', 'pa\u00adss\u2060wo\ufeffrd', 'ｐａｓｓｗｏｒｄ', '𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝', 'ⓅⒶⓈⓈⓌⓄⓇⒹ', 'pаssword', 'p\u0301assword', 'pass\u3000word', 'pass\u3164word']) {
      expect(squashKey(key), JSON.stringify(key)).toBe('password');
    }
  });

  it('splits camelCase, acronyms, digits and separators into words', () => {
    expect(keyWords('AWS_SECRET_ACCESS_KEY')).toEqual(['aws', 'secret', 'access', 'key']);
    expect(keyWords('awsSecretAccessKey')).toEqual(['aws', 'secret', 'access', 'key']);
    expect(keyWords('APIKey')).toEqual(['api', 'key']);
    expect(keyWords('oauth2Token')).toEqual(['oauth', '2', 'token']);
    expect(keyWords('Straße')).toEqual(['strasse']);
    expect(keyWords('max_tokens')).toEqual(['max', 'tokens']);
  });
});

describe('forbidden argument keys (the defaults)', () => {
  const refused = (key: string, value: unknown = 'x') => defaults.refuses(key, value);

  it('refuses credentials under any name that says so', () => {
    for (const key of [
      'password', 'Pass_Word', 'pass\u200bword', 'ＰＡＳＳＷＯＲＤ', 'db_password', 'dbPassword', 'new-password', 'password2',
      'token', 'access_token', 'accessToken', 'refresh_token', 'id_token', 'auth_token', 'bearerToken', 'GITHUB_TOKEN', 'oauth2_token',
      'secret', 'client_secret', 'clientSecret', 'AWS_SECRET_ACCESS_KEY', 'aws_secret_access_key', 'SecretAccessKey', 'secret_key', 'webhook_secret', 'secret_value', 'SecretString',
      'api_key', 'apiKey', 'x-api-key', 'X_API_KEY', 'apikey', 'OPENAI_API_KEY', 'api_key_value',
      'private_key', 'privateKey', 'private_key_pem', 'ssh_key', 'signing_key', 'access_key',
      'credential', 'credentials', 'gcp_credentials', 'Authorization', 'passphrase', 'passwd',
    ]) {
      expect(refused(key), key).toBeDefined();
    }
    expect(refused('credentials', { user: 'a', pass: 'b' })).toBeDefined();
    expect(refused('db_password', 123456)).toBeDefined();
  });

  it('leaves alone the names real tools use for counts, limits, pagination and references', () => {
    for (const key of [
      'max_tokens', 'maxTokens', 'max_completion_tokens', 'tokens', 'num_tokens', 'total_tokens', 'tokenizer', 'token_count', 'tokenCount', 'token_limit', 'token_budget', 'token_usage', 'token_type', 'token_type_hint', 'token_url', 'token_endpoint',
      'next_token', 'NextToken', 'pageToken', 'next_page_token', 'nextPageToken', 'continuation_token', 'sync_token', 'ClientToken', 'idempotency_token',
      'secretary', 'secret_name', 'secretName', 'SecretId', 'secret_id', 'secret_arn', 'secretRef', 'secret_path',
      'password_policy', 'password_min_length', 'password_reset_url', 'AccessKeyId', 'aws_access_key_id', 'api_key_id', 'private_key_path',
      'passport', 'author', 'authorization_url', 'keyword', 'key', 'ticket_key', 'monkey', 'spin', 'pwd',
    ]) {
      expect(refused(key), key).toBeUndefined();
    }
    // a flag or nothing cannot carry a credential
    expect(refused('has_password', true)).toBeUndefined();
    expect(refused('include_secrets', false)).toBeUndefined();
    expect(refused('auth_token', null)).toBeUndefined();
    // …but a forbidden key refuses any value
    expect(refused('password', true)).toBeDefined();
  });

  it('is configurable: more patterns, allowed keys (which forbidden_keys still override)', () => {
    const custom = new ForbiddenKeys(configWith('arguments: { forbidden_keys: [password], forbidden_patterns: [otp], allowed_keys: [access_token, password] }').arguments);
    expect(custom.refuses('sms_otp', '123456')).toBeDefined();
    expect(custom.refuses('access_token', 'x')).toBeUndefined();
    expect(custom.refuses('client_secret', 'x')).toBeUndefined(); // secret is no longer a pattern
    expect(custom.refuses('Pass-Word', 'x')).toBeDefined();
  });

  it('finds the key at any depth, arrays included, and names its path', () => {
    const found = defaults.find({ query: 'x', items: [{ ok: 1 }, { nested: [[{ headers: { 'X-Api-Key': 'k' } }]] }] });
    expect(found?.path).toBe('args.items[1].nested[0][0].headers.X-Api-Key');
  });
});

/* ------------------------------------------------------------------ property */

const FORBIDDEN = ['password', 'api_key', 'token', 'secret', 'private_key', 'access_token', 'client_secret'];
const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u034f', '\u180e', '\ufe0f'];
const SEPARATORS = ['_', '-', '.', ' ', '\u00a0', '\u3000', '\u2003', '/', ':', '\t', '·'];

/** One character of the key in a form that folds back to it. */
function disguiseChar(c: string): fc.Arbitrary<string> {
  if (!/[a-z]/.test(c)) return fc.constantFrom(...SEPARATORS, '');
  const code = c.charCodeAt(0) - 97;
  return fc.constantFrom(
    c,
    c.toUpperCase(),
    String.fromCharCode(0xff41 + code), // fullwidth
    String.fromCharCode(0xff21 + code), // fullwidth capital
    String.fromCodePoint(0x1d41a + code), // mathematical bold small
    String.fromCodePoint(0x1d5ba + code), // mathematical sans-serif small
    String.fromCharCode(0x24d0 + code), // circled small
  );
}

const disguised = fc.constantFrom(...FORBIDDEN).chain((key) =>
  fc
    .tuple(
      ...[...key].map((c) =>
        fc.tuple(disguiseChar(c), fc.array(fc.constantFrom(...ZERO_WIDTH, ...SEPARATORS), { maxLength: 2 })).map(([ch, after]) => ch + after.join('')),
      ),
    )
    .map((parts) => ({ key, disguised: parts.join('') })),
);

/** A random JSON value with the key planted somewhere, at any depth, in objects or arrays. */
const planted = disguised.chain(({ key, disguised: k }) =>
  fc
    .array(fc.oneof(fc.constant<'object'>('object'), fc.constant<'array'>('array')), { maxLength: 6 })
    .chain((shape) => fc.tuple(fc.constant(shape), fc.oneof(fc.string(), fc.integer(), fc.constant({ nested: 'value' })), fc.dictionary(fc.constantFrom('query', 'limit', 'note', 'items'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })))
    .map(([shape, value, siblings]) => {
      let node: unknown = { ...siblings, [k]: value };
      for (const level of shape) node = level === 'array' ? [1, node, 'x'] : { wrap: node, other: 'y' };
      return { key, disguised: k, args: { ...siblings, payload: node } };
    }),
);

describe('property: a forbidden key disguised by case, zero-width characters, separators or NFKC forms is refused at any depth', () => {
  it('refuses it with forbidden_keys alone', () => {
    const only = new ForbiddenKeys({ forbidden_keys: FORBIDDEN, forbidden_patterns: [], allowed_keys: [] });
    fc.assert(
      fc.property(planted, ({ disguised: k, args }) => {
        const found = only.find(args);
        expect(found, JSON.stringify(k)).toBeDefined();
        expect(found!.path.endsWith(`.${k}`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses it with the default configuration too', () => {
    fc.assert(
      fc.property(planted, ({ args }) => {
        expect(defaults.find(args)).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });
});

/* ------------------------------------------------------------------ end to end */

describe('the pipeline refuses disguised and generalised credentials (forbidden_keys: [password] only)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('arguments: { forbidden_keys: [password] }\n');
  });
  afterAll(async () => {
    await h.close();
  });

  const refund = (extra: Record<string, unknown>) =>
    h.warden.call({ agentId: 'refund-agent', tool: 'issue_refund', args: { order_id: 'o-1', amount: 5, ...extra }, requestId: nextRequestId(), tenant: 'acme-corp' }, { kind: 'api_key', key: h.keys['refund-agent']! });

  it.each([
    ['a zero-width space', { 'pass\u200bword': 'hunter2' }, 'args.pass\u200bword', 'hunter2'],
    ['fullwidth letters in an array', { meta: [{ ok: true }, { 'ＰＡＳＳＷＯＲＤ': 'hunter2' }] }, 'args.meta[1].ＰＡＳＳＷＯＲＤ', 'hunter2'],
    ['access_token', { access_token: 'ya29.a0' }, 'args.access_token', 'ya29.a0'],
    ['client_secret', { auth: { client_secret: 's3cr3t' } }, 'args.auth.client_secret', 's3cr3t'],
    ['AWS_SECRET_ACCESS_KEY', { env: { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG' } }, 'args.env.AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI'],
  ])('%s', async (_name, extra, path, secret) => {
    const result = await refund(extra);
    expect(result).toMatchObject({ status: 'denied', httpStatus: 400, decision: { stage: 'arguments' } });
    expect(result.decision.reason).toContain(`argument ${path} is forbidden`);
    expect(h.tools.calls.filter((c) => c.tool === 'issue_refund')).toHaveLength(0);
    // and the refused credential is not in the decision log (the redactor folds keys the same way)
    await h.warden.audit.flush();
    expect(JSON.stringify(await h.warden.store.getDecision(result.auditId))).not.toContain(secret);
  });

  it('still executes a call whose keys only look similar', async () => {
    const result = await refund({ meta: { max_tokens: 5, token_count: 3, next_page_token: 'abc', secret_name: 'prod/db', has_password: true } });
    expect(result.status).toBe('executed');
  });
});
