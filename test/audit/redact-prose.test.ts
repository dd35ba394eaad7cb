/**
 * The key_value detector read `no credentials: send an API key` as the key `credentials` with the
 * value `send`, and callers got "no credentials: [REDACTED] an API key". A colon in prose
 * introduces an explanation: a plain lower-case word followed by more words is a sentence, not a
 * secret. Secrets in `key: value` text are still masked.
 */
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/audit/redact.js';

const r = createRedactor();

describe('key_value: prose after a colon is left alone', () => {
  it('leaves Warden’s own messages readable', () => {
    for (const message of [
      'no credentials: send an API key or a signed envelope',
      'agent tokens (JWT) are not accepted here: authentication.agent_jwt is not configured',
      'the agent token has no expiry (no "exp" claim); tokens that never expire are refused',
      'the agent token lives 2 h, longer than the 1h accepted (authentication.agent_jwt.max_lifetime)',
      'the token was refused: "exp" claim timestamp check failed',
      'the bearer token is not valid',
      'request id "r-1" was already used: replay refused',
      'argument args.client_secret is forbidden (the words "secret" are on arguments.forbidden_patterns): credentials are injected by Warden at execution, never passed by agents',
    ]) {
      expect(r.redactText(message), message).toBe(message);
    }
  });

  it('leaves sentences alone after any sensitive key and a colon', () => {
    for (const sentence of ['invalid token: refresh it and retry', 'missing password: ask the user for it.', 'secret: see the vault', 'no credentials: send one\nnext line', 'wrong pin: try again!']) {
      expect(r.redactText(sentence), sentence).toBe(sentence);
      expect(r.containsSensitive(sentence), sentence).toBe(false);
    }
  });

  it('still masks values that are not the start of a sentence', () => {
    const cases: Array<[string, string]> = [
      ['password: letmein', 'password: [REDACTED]'],
      ['password: letmein\nnext', 'password: [REDACTED]\nnext'],
      ['password: letmein, user: bob', 'password: [REDACTED], user: bob'],
      ['password: letmein user: bob', 'password: [REDACTED] user: bob'],
      ['password: letmein user=bob', 'password: [REDACTED] user=bob'],
      ['token: abc123 was used', 'token: [REDACTED] was used'],
      ['token: Hunter2 and more', 'token: [REDACTED] and more'],
      ['password:letmein and more', 'password:[REDACTED] and more'],
      ['password=letmein and more', 'password=[REDACTED] and more'],
      ['password: "letmein and more"', 'password: "[REDACTED]"'],
      ['Authorization: basic words here', 'Authorization: [REDACTED]'],
    ];
    for (const [input, output] of cases) expect(r.redactText(input), input).toBe(output);
  });
});

describe('key_value: keys spelled beyond ASCII', () => {
  it('folds them like structured keys, and still finds an ASCII key glued to other text', () => {
    expect(r.redactText('{"pass\u200bword":"hunter2"}')).toBe('{"pass\u200bword":"[REDACTED]"}');
    expect(r.redactText('ｐａｓｓｗｏｒｄ=hunter2')).toBe('ｐａｓｓｗｏｒｄ=[REDACTED]');
    expect(r.redactText('認証token=abc123')).toBe('認証token=[REDACTED]');
    expect(r.redactText('café: ouvert')).toBe('café: ouvert');
    expect(r.redact({ 'pass\u200bword': 'x', 'ＡＰＩ＿ＫＥＹ': 'y' })).toEqual({ 'pass\u200bword': '[REDACTED]', 'ＡＰＩ＿ＫＥＹ': '[REDACTED]' });
  });
});
