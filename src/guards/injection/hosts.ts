/** Allowed-host matching for links and images: exact hosts and `*.example.com` wildcards. */

export type HostMatcher = (host: string) => boolean;

/**
 * `example.com` matches that host only; `*.example.com` matches any subdomain of it
 * (`a.example.com`, `a.b.example.com`) but not `example.com` itself. Case-insensitive; a
 * trailing dot and a port are ignored.
 */
const NONE: HostMatcher = () => false;
/** Matchers by list: the configured list is the same array on every call, and building one per scan showed up in profiles. */
const matchers = new WeakMap<readonly string[], HostMatcher>();

export function hostMatcher(allowed: readonly string[] | undefined): HostMatcher {
  if (!allowed || allowed.length === 0) return NONE;
  let matcher = matchers.get(allowed);
  if (!matcher) matchers.set(allowed, (matcher = buildMatcher(allowed)));
  return matcher;
}

function buildMatcher(allowed: readonly string[]): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of allowed) {
    const h = normalizeHost(raw);
    if (!h) continue;
    if (h.startsWith('*.')) suffixes.push(h.slice(1));
    else exact.add(h);
  }
  return (host) => {
    const h = normalizeHost(host);
    if (exact.has(h)) return true;
    for (const s of suffixes) if (h.length > s.length && h.endsWith(s)) return true;
    return false;
  };
}

function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h; // IPv6 literal: compared as written
  const colon = h.lastIndexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * The host of an absolute or protocol-relative URL (`https://a.b/…`, `//a.b/…`), after any
 * `user:pass@` (so `https://allowed.com@evil.tld/` is evil.tld); undefined for relative URLs and
 * for schemes that fetch nothing (mailto:, tel:, #anchors).
 */
export function urlHost(url: string): string | undefined {
  const m = /^\s*(?:(https?|ftp|wss?):)?\/\/([^/?#\s\\]*)/i.exec(url);
  if (!m) return undefined;
  let authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  return authority.length > 0 ? authority : undefined;
}
