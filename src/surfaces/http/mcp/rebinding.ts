import type { FastifyRequest } from 'fastify';

/**
 * DNS-rebinding protection for the Streamable HTTP endpoints, as the MCP transport specification
 * requires: a web page on evil.example can make the browser send requests to Warden on 127.0.0.1
 * (its name re-resolved to a loopback address). Such a request carries the page's Host and Origin.
 *
 * - A request that arrived on a loopback address must name a loopback host (localhost,
 *   127.0.0.1, [::1], any port) or one of `mcp.allowed_hosts`.
 * - A request with an Origin (only browsers send one) must come from the same host it is sent to,
 *   or from one of `mcp.allowed_origins`.
 * Clients that are not browsers send no Origin and their real Host: they are not affected.
 */
export interface RebindingPolicy {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** `host[:port]` → host, lower case, brackets kept for IPv6 (`[::1]:8080` → `[::1]`). */
function hostnameOf(hostHeader: string): string {
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** Why the request is refused, or undefined when it may go on. */
export function rebindingRefusal(req: FastifyRequest, policy: RebindingPolicy): string | undefined {
  const host = req.headers.host ?? '';
  const hostname = hostnameOf(host);
  if (isLoopbackAddress(req.socket.localAddress) && !LOOPBACK_NAMES.has(hostname) && !policy.allowedHosts.includes(hostname)) {
    return `Host "${host}" is not a name of this server (a DNS-rebinding request?); allow it with mcp.allowed_hosts`;
  }
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (policy.allowedOrigins.includes(origin)) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return `Origin "${origin}" is not a valid origin`;
  }
  if (originHost === host.trim().toLowerCase()) return undefined;
  return `Origin "${origin}" may not call this endpoint (a page of another site?); allow it with mcp.allowed_origins`;
}
