/**
 * `audit.sinks`, `approvals.notify` and `server.public_url` in warden.yaml: off by default,
 * strict (a typo is an error naming where), names unique, URLs that may hold secrets.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';

const parse = (text: string) => parseConfig(text, '/tmp/warden.yaml', {});
const errors = (text: string) => {
  const r = parse(text);
  return r.ok ? '' : r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n');
};

describe('sink configuration', () => {
  it('sends nothing anywhere by default', () => {
    const r = parse('{}');
    expect(r.ok && [r.config.audit.sinks, r.config.approvals.notify, r.config.server.public_url]).toEqual([[], [], undefined]);
  });

  it('fills the defaults of each kind of sink', () => {
    const r = parse(`audit:
  sinks:
    - { name: archive, type: file, path: ./decisions.jsonl }
    - { name: siem, type: http, url: "https://siem.example.com/ingest?key=\${secret:siem_key}" }
    - { name: bus, type: nats, subject: warden.decisions }
approvals:
  notify:
    - { name: slack, url: "\${secret:slack_webhook}" }
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.audit.sinks[0]).toMatchObject({ start: 'first', rotate: { max_bytes: 104_857_600, max_files: 10 }, batch: { max_records: 500, max_wait: '0s' }, max_lag: 10_000 });
    expect(r.config.audit.sinks[1]).toMatchObject({ timeout: '10s', retry: { initial: '500ms', max: '30s' }, headers: {} });
    expect(r.config.audit.sinks[2]).toMatchObject({ servers: ['nats://127.0.0.1:4222'], jetstream: true, timeout: '5s' });
    expect(r.config.approvals.notify[0]).toMatchObject({ format: 'slack', events: ['pending', 'decided', 'expired'], include_arguments: false, retry: { max_attempts: 12 } });
  });

  it('refuses typos, duplicate names, wildcard subjects and URLs that are not http(s)', () => {
    expect(errors('audit: { sinks: [{ name: a, type: file, path: x, rotate: { max_byte: 5000 } }] }')).toMatch(/max_byte/);
    expect(errors('audit: { sinks: [{ name: a, type: file, path: x }, { name: a, type: file, path: y }] }')).toMatch(/sink name "a" is used twice/);
    expect(errors('audit: { sinks: [{ name: a, type: nats, subject: "warden.>" }] }')).toMatch(/without wildcards/);
    expect(errors('audit: { sinks: [{ name: a, type: http, url: "file:///etc/passwd" }] }')).toMatch(/http\(s\) URL/);
    expect(errors('audit: { sinks: [{ name: a, type: syslog }] }')).not.toBe('');
    expect(errors('approvals: { notify: [{ name: s, url: "https://x.example", format: teams }] }')).toMatch(/format/);
    expect(errors('server: { public_url: "not a url" }')).toMatch(/public_url/);
  });
});
