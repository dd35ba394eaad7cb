import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Lets `app.close()` finish: requests in progress complete, and every connection without one is
 * closed — also the ones `server.close()` leaves open: a connection a browser opened ahead of
 * need and never used (its headers timeout stops being checked once the server closes), and a
 * keep-alive connection whose response ended just after closing began (an event stream ended in
 * preClose), which would otherwise be held for keep_alive_timeout.
 */
export function closeIdleConnectionsOnShutdown(app: FastifyInstance): void {
  const idle = new Set<Socket>();
  let closing = false;
  app.server.on('connection', (socket: Socket) => {
    idle.add(socket);
    socket.once('close', () => idle.delete(socket));
  });
  // One function for every response, not a closure and a once-wrapper per request: this runs per request.
  function responseFinished(this: ServerResponse<IncomingMessage>): void {
    const socket = this.req.socket;
    if (socket.destroyed) return;
    if (closing) socket.end();
    else idle.add(socket);
  }
  app.server.on('request', (req: IncomingMessage, res: ServerResponse<IncomingMessage>) => {
    idle.delete(req.socket);
    res.on('finish', responseFinished); // 'finish' is emitted once per response
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of idle) socket.end();
  });
  app.addHook('onClose', async () => {
    // A client that never reads keeps its socket from ending: do not wait on it.
    for (const socket of idle) socket.destroy();
  });
}
