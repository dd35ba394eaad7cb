import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The page may load its own script and styles and talk to its own origin, nothing else: no
 * inline script, no third party, no framing (clickjacking an approve button).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Where the built dashboard is: `dist/ui` beside the compiled server (`dist/surfaces/http/routes/ui.js`
 * → `dist/ui`), or, when the server runs from its sources (tests), the repository's `dist/ui`.
 */
export function dashboardDir(): string | undefined {
  const candidates = [new URL('../../../../dist/ui/', import.meta.url), new URL('../../../ui/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets')));
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Warden</title>
<body><main><h1>Warden</h1><p>The dashboard is not built. Run <code>npm run build</code>; the API is at <a href="/docs">/docs</a>.</p></main></body></html>`;

/**
 * The dashboard (a static Preact app built by Vite into dist/ui) on the API's port, at `/` and
 * `/ui/`. The files hold no secrets: the page asks the user for their token and calls the API
 * with it, so every permission check stays on the server.
 */
export function registerUiRoutes(app: FastifyInstance): void {
  const dir = dashboardDir();

  const sendFile = async (reply: FastifyReply, path: string, cache: string) => {
    const body = await readFile(path);
    return reply
      .headers(SECURITY_HEADERS)
      .header('cache-control', cache)
      .type(TYPES[extname(path)] ?? 'application/octet-stream')
      .send(body);
  };

  const index = async (_req: unknown, reply: FastifyReply) => {
    if (!dir) return reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store').type(TYPES['.html']!).send(NOT_BUILT);
    return sendFile(reply, join(dir, 'index.html'), 'no-cache');
  };
  const hide = { schema: { hide: true }, config: { auth: 'public' as const } };
  app.get('/', hide, index);
  app.get('/ui', hide, (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', hide, index);
  app.get('/ui/*', hide, async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    const path = dir && normalize(join(dir, rest));
    if (!dir || !path || !path.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return reply.callNotFound();
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return reply.callNotFound();
    // Vite names assets by content hash: they never change under the same name.
    return sendFile(reply, path, rest.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  });
}
