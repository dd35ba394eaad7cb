import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OTLP/HTTP collector endpoint: a node:http listener on 127.0.0.1 that accepts
 * `POST /v1/traces` and `POST /v1/metrics` as the OpenTelemetry JS exporters send them (JSON,
 * `application/json`), keeps every request's headers and exact bytes, and answers 200 `{}` as a
 * collector does. `hang: true` accepts requests and never answers (a collector that is stuck).
 */
export interface OtlpRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A span as the OTLP JSON encoding carries it, attributes flattened, with its resource's. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

export interface ReceivedMetric {
  name: string;
  points: Array<{ attributes: Record<string, unknown>; value: number }>;
}

/** OTLP span kinds (the proto enum; the JSON encoding uses the numbers). */
export const KIND = { internal: 1, server: 2, client: 3 } as const;

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };

const flatten = (attributes: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue))]));

export class OtlpReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly requests: OtlpRequest[],
  ) {}

  static async start(options: { hang?: boolean } = {}): Promise<OtlpReceiver> {
    const requests: OtlpRequest[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (options.hang) return; // never answered; closeAllConnections() ends it
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests);
  }

  /** Every byte received, bodies and header values, as text: what a leak would be found in. */
  everything(): string {
    return this.requests.map((r) => `${r.path}\n${JSON.stringify(r.headers)}\n${r.body.toString('utf8')}`).join('\n');
  }

  spans(): ReceivedSpan[] {
    const out: ReceivedSpan[] = [];
    for (const request of this.requests.filter((r) => r.path === '/v1/traces')) {
      const body = JSON.parse(request.body.toString('utf8')) as {
        resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'attributes' | 'resource'> & { attributes?: KeyValue[] }> }> }>;
      };
      for (const rs of body.resourceSpans ?? []) {
        const resource = flatten(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) out.push({ ...span, parentSpanId: span.parentSpanId || undefined, attributes: flatten(span.attributes), resource });
      }
    }
    return out;
  }

  metrics(): ReceivedMetric[] {
    const out: ReceivedMetric[] = [];
    type Point = { attributes?: KeyValue[]; asInt?: string | number; asDouble?: number; count?: string | number };
    for (const request of this.requests.filter((r) => r.path === '/v1/metrics')) {
      const body = JSON.parse(request.body.toString('utf8')) as {
        resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<{ name: string; sum?: { dataPoints?: Point[] }; gauge?: { dataPoints?: Point[] }; histogram?: { dataPoints?: Point[] } }> }> }>;
      };
      for (const rm of body.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics ?? [])
          for (const m of sm.metrics ?? []) {
            const points = (m.sum ?? m.gauge ?? m.histogram)?.dataPoints ?? [];
            out.push({ name: m.name, points: points.map((p) => ({ attributes: flatten(p.attributes), value: Number(p.asInt ?? p.asDouble ?? p.count ?? NaN) })) });
          }
    }
    return out;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A URL where nothing listens: a port taken from the OS, then given back. */
export async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
