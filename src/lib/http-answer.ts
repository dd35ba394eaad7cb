/** What is read from a service outside Warden over HTTP, and how its failures are told apart. */

/**
 * Reads a response body as UTF-8 text, at most `max` bytes: a larger body is destroyed and
 * `tooLarge()` thrown, so a service outside Warden cannot make it buffer without bound.
 */
export async function readLimited(body: AsyncIterable<Buffer> & { destroy?: () => void }, max: number, tooLarge: () => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Whether a request failed for want of time: our own deadline (an AbortSignal.timeout, an abort)
 * or undici's headers/body timeouts — rather than a refused or broken connection.
 */
export function timedOut(error: unknown): boolean {
  const e = error as Error & { code?: string };
  return e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
}
