import { fileURLToPath } from 'node:url';

/**
 * Where the browser tests write their screenshots: an ignored folder, so `npm test` leaves the
 * working tree clean (they are artefacts of a run, not sources).
 */
export const SCREENSHOTS = fileURLToPath(new URL('./.screenshots/', import.meta.url));
