/** Headers whose values may hold `${secret:name}`, resolved at each request (a rotated secret is used at once). */
export type HeaderSource = () => Promise<Record<string, string>>;

/** The URL, resolved at each request (it may hold secrets). */
export type UrlSource = () => Promise<string>;

/**
 * Where a URL points, for logs and the public /readyz: its origin only. A path or a query can be
 * the credential (Slack webhooks), and a URL that is a secret reference shows as the reference.
 */
export function describeUrl(url: string): string {
  if (/^\$\{secret:[^}]+\}$/.test(url)) return url;
  try {
    const u = new URL(url.replace(/\$\{secret:[^}]+\}/g, 'secret'));
    return `${u.protocol}//${u.host}${u.pathname === '/' && !u.search ? '/' : '/…'}`;
  } catch {
    return '(an invalid URL)';
  }
}

/**
 * POSTs a body and resolves on a 2xx; rejects with the status (never the body, which could echo
 * what was sent) or the network error. Redirects are not followed: a sink sends its records to
 * the address configured, not wherever a response points.
 */
export async function postOrThrow(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`${describeUrl(url)} is not an http(s) URL`);
  const response = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  // Read the body out so the connection can be reused.
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) throw new Error(`${describeUrl(url)} answered HTTP ${response.status}`);
}
