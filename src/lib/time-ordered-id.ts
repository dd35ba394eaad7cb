import { randomUUID } from 'node:crypto';

/**
 * `prefix` + a UUIDv7 (RFC 9562): 48 bits of milliseconds, then random bits. Ids that grow with
 * time land next to each other in an index; random v4 ids dirty a random page of it per record.
 * Measured on the decision log: its unique id index, 2.6x fewer inserts per second with v4 ids
 * (bench/pipeline); its request-id index on a 1M-record log, 48-60 CPU µs per insert with v4
 * request ids against 21-22 with time-ordered ones.
 */
export function timeOrderedId(prefix: string, now = Date.now()): string {
  // randomUUID draws from a cached entropy pool; a syscall per id (randomBytes) showed in profiles.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${prefix}${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
