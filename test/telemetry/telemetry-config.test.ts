import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { parseConfig, type WardenConfig } from '../../src/config/index.js';
import { startTelemetry } from '../../src/services/telemetry/start-telemetry.js';
import { OtlpReceiver } from './otlp-receiver.js';

/** `telemetry:` in warden.yaml: strict, off by default, and where its endpoint comes from. */

function config(text: string): WardenConfig {
  const result = parseConfig(text, 'warden.yaml');
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('; '));
  return result.config;
}

function problems(text: string): string {
  const result = parseConfig(text, 'warden.yaml');
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.diagnostics.map((d) => `${d.message}`).join('\n');
}

describe('telemetry in warden.yaml', () => {
  it('is off by default: nothing enabled, nothing started', async () => {
    const c = config('');
    expect(c.telemetry).toMatchObject({ service_name: 'warden', traces: { enabled: false, sample_ratio: 1 }, metrics: { enabled: false, interval: '60s' }, otlp: { timeout: '10s', headers: {} } });
    expect(c.telemetry.otlp.endpoint).toBeUndefined();
    expect(await startTelemetry(c, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } })).toMatchObject({ traces: false, metrics: false });
  });

  it('refuses typos and values out of range, naming them', () => {
    expect(problems('telemetry: { traces: { enable: true } }')).toMatch(/enable/);
    expect(problems('telemetry: { traces: { enabled: true, sample_ratio: 1.5 } }')).toMatch(/sample_ratio|1/);
    expect(problems('telemetry: { otlp: { endpoint: "ftp://collector:4318" } }')).toMatch(/http:\/\/ or https:\/\//);
    expect(problems('telemetry: { metrics: { enabled: true, interval: 0s } }')).toMatch(/longer than 0s/);
    expect(problems('telemetry: { otlp: { headers: { "bad header": x } } }')).toMatch(/HTTP header name/);
  });
});

describe('where the collector is', () => {
  const enabled = (endpoint = '') => config(`telemetry:\n  ${endpoint ? `otlp: { endpoint: "${endpoint}" }\n  ` : ''}traces: { enabled: true }\n`);

  it('OTEL_EXPORTER_OTLP_ENDPOINT is used when telemetry is on and warden.yaml names no endpoint', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const handle = await startTelemetry(enabled(), { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/` } });
      expect(handle).toMatchObject({ traces: true, metrics: false, endpoint: receiver.url });
      trace.getTracer('test').startSpan('from-the-env-endpoint').end();
      await handle.shutdown();
      expect(receiver.spans().map((s) => s.name)).toEqual(['from-the-env-endpoint']);
    } finally {
      await receiver.close();
    }
  });

  it('warden.yaml\'s endpoint wins over the environment\'s', async () => {
    const [configured, other] = [await OtlpReceiver.start(), await OtlpReceiver.start()];
    try {
      const handle = await startTelemetry(enabled(configured.url), { env: { OTEL_EXPORTER_OTLP_ENDPOINT: other.url } });
      trace.getTracer('test').startSpan('to-the-configured-endpoint').end();
      await handle.shutdown();
      expect(configured.spans().map((s) => s.name)).toEqual(['to-the-configured-endpoint']);
      expect(other.requests).toEqual([]);
    } finally {
      await configured.close();
      await other.close();
    }
  });

  it('OTEL_SDK_DISABLED=true turns it off; a malformed OTEL_EXPORTER_OTLP_ENDPOINT is a clear error', async () => {
    expect(await startTelemetry(enabled('http://127.0.0.1:9'), { env: { OTEL_SDK_DISABLED: 'true' } })).toMatchObject({ traces: false, metrics: false });
    await expect(startTelemetry(enabled(), { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' } })).rejects.toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
  });

  it('leaves the API as it found it after shutdown, so it can be started again', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      for (const name of ['first', 'second']) {
        const handle = await startTelemetry(enabled(receiver.url));
        expect(handle.traces).toBe(true);
        trace.getTracer('test').startSpan(name).end();
        await handle.shutdown();
      }
      expect(receiver.spans().map((s) => s.name)).toEqual(['first', 'second']);
      expect(trace.getTracer('test').startSpan('after').isRecording()).toBe(false);
    } finally {
      await receiver.close();
    }
  });
});
