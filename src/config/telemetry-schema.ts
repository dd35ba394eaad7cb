import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';
import { duration } from './schema-parts.js';

/*
 * `telemetry`: OpenTelemetry traces and metrics sent over OTLP/HTTP to a collector. It sends data
 * out of Warden, so nothing is sent unless `traces.enabled` or `metrics.enabled` says so. Process
 * entry points (`warden serve`, `warden mcp …`) start it; an embedding application that has its
 * own OpenTelemetry SDK gets Warden's spans and metrics through the OpenTelemetry API anyway.
 */

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const positiveDuration = duration.refine((s) => (parseDuration(s) ?? 0) > 0, 'must be longer than 0s');

export const telemetrySchema = z
  .strictObject({
    /** `service.name` of every span and metric. */
    service_name: z.string().min(1).max(255).default('warden'),
    /** Extra resource attributes, such as `deployment.environment.name: production`. */
    resource_attributes: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,127}$/, 'use letters, digits and . _ -'), z.string().max(255)).default({}),
    otlp: z
      .strictObject({
        /**
         * The collector's OTLP/HTTP base URL; `/v1/traces` and `/v1/metrics` are appended.
         * Absent: `OTEL_EXPORTER_OTLP_ENDPOINT` from the environment, else `http://localhost:4318`.
         */
        endpoint: z
          .string()
          .url()
          .refine((s) => /^https?:\/\//i.test(s), 'must be an http:// or https:// URL')
          .optional(),
        /** Sent with every export (an API key of the backend); values may hold `${secret:name}`. Never logged. */
        headers: z
          .record(z.string(), z.string())
          .superRefine((headers, ctx) => {
            for (const name of Object.keys(headers)) {
              if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-)` });
            }
          })
          .default({}),
        /** Longest one export may take; a collector that is slower loses that batch, never a request. */
        timeout: positiveDuration.default('10s'),
      })
      .prefault({}),
    traces: z
      .strictObject({
        enabled: z.boolean().default(false),
        /**
         * Share of new traces kept (0–1). A caller's `traceparent` decides for its own trace
         * (parent-based): a sampled caller is traced, an unsampled one is not.
         */
        sample_ratio: z.number().min(0).max(1).default(1),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** How often metrics are exported (and once more at shutdown). */
        interval: positiveDuration.default('60s'),
      })
      .prefault({}),
  })
  .prefault({});

export type TelemetryConfig = z.output<typeof telemetrySchema>;
