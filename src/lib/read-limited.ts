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
