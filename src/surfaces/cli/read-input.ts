import { readFile } from 'node:fs/promises';

/** Requests larger than this are refused before parsing; the request limits then apply inside. */
export const MAX_INPUT_BYTES = 32 * 1_048_576;

/** Reads a file, or standard input for `-`, refusing input larger than MAX_INPUT_BYTES. */
export async function readInput(path: string): Promise<string> {
  if (path !== '-') {
    const buffer = await readFile(path);
    if (buffer.length > MAX_INPUT_BYTES) throw new Error(`${path} is ${buffer.length} bytes; the limit is ${MAX_INPUT_BYTES}`);
    return buffer.toString('utf8');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT_BYTES) throw new Error(`standard input exceeds ${MAX_INPUT_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
