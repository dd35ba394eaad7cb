import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { DecisionRecord } from '../../../store/records.js';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';

/** Records sent from the log to a client that reconnects with `after` (or Last-Event-ID), at most. */
const BACKLOG_LIMIT = 500;
/** A client that lets this much pile up unread is dropped; it reconnects and catches up with `after`. */
const MAX_BUFFERED_BYTES = 1_048_576;
const HEARTBEAT_MS = 15_000;

const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0, description: 'Replay records with a seq greater than this first (catch-up after a reconnect)' },
    agent: { type: 'string' },
    tool: { type: 'string' },
    effect: { type: 'string', enum: ['allow', 'deny', 'require_approval'] },
  },
} as const;

type EventsQuery = { after?: number; agent?: string; tool?: string; effect?: DecisionRecord['effect'] };

/**
 * `GET /v1/events/decisions`: the decision log as a live Server-Sent Events stream, for the
 * dashboard. Authenticated like every other route, with `Authorization: Bearer` — the browser
 * reads it with fetch streaming rather than EventSource, so the token never goes into a URL
 * (where access logs, browser history and proxies would keep it). Each human sees the records of
 * their own tenant only; the records are redacted before they reach the log. Streams are ended
 * when the server closes, so `app.close()` never waits on a dashboard left open.
 */
export function registerEventRoutes(app: FastifyInstance, warden: Warden): void {
  const open = new Set<ServerResponse>();
  // A stream whose request was still being authenticated when closing began reaches the handler
  // after preClose has ended the open ones; it must not start, or server.close() waits on it forever.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const res of open) res.end();
    open.clear();
  });

  app.get('/v1/events/decisions', { config: { auth: 'viewer' }, schema: { summary: 'Live decision records (Server-Sent Events)', tags: ['audit'], querystring: querySchema } }, async (req, reply) => {
    if (closing) return reply.code(503).header('connection', 'close').send({ error: 'shutting_down', message: 'the gateway is shutting down; reconnect to another replica or retry shortly' });
    const principal = principalOf(req);
    const q = req.query as EventsQuery;
    const lastEventId = Number(req.headers['last-event-id']);
    const after = q.after ?? (Number.isSafeInteger(lastEventId) && lastEventId >= 0 ? lastEventId : undefined);

    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');

    let lastSent = after ?? 0;
    let backlogDone = after === undefined;
    const held: DecisionRecord[] = [];
    const send = (records: readonly DecisionRecord[]) => {
      if (res.writableEnded) return;
      let chunk = '';
      for (const r of records) {
        if (r.seq <= lastSent) continue;
        lastSent = r.seq;
        if (wanted(r)) chunk += `id: ${r.seq}\nevent: decision\ndata: ${JSON.stringify(r)}\n\n`;
      }
      if (chunk) res.write(chunk);
      if (res.writableLength > MAX_BUFFERED_BYTES) res.end();
    };
    // Subscribe before reading the backlog so nothing written in between is lost; what arrives
    // meanwhile is held and sent after it (duplicates are skipped by seq).
    const follower = warden.audit.follow(principal, (records) => (backlogDone ? send(records) : held.push(...records)));
    const wanted = (r: DecisionRecord) =>
      follower.visible(r) &&
      (q.agent === undefined || r.agentId === q.agent) &&
      (q.tool === undefined || r.resourceId === q.tool) &&
      (q.effect === undefined || r.effect === q.effect);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    open.add(res);
    const cleanup = () => {
      clearInterval(heartbeat);
      follower.unsubscribe();
      open.delete(res);
    };
    res.on('close', cleanup);
    req.raw.on('close', () => res.end());

    if (!backlogDone) {
      try {
        const backlog = await warden.audit.backlog(principal, after, BACKLOG_LIMIT);
        // Older records than the backlog limit are not replayed: the client reads them from /v1/audit.
        send(backlog);
      } catch (e) {
        req.log.error({ err: e }, 'event stream backlog failed');
      }
      backlogDone = true;
      send(held.splice(0).sort((a, b) => a.seq - b.seq));
    }
    return reply;
  });
}

