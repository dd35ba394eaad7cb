import type { Store } from '../store/store.js';
import { ChainVerifier, type ChainBreak } from './hash-chain.js';

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first record where the chain breaks. */
  broken?: ChainBreak;
}

/** Walks the whole decision log in order and checks every link of the hash chain. */
export async function verifyDecisionLog(store: Store, onProgress?: (checked: number) => void): Promise<VerifyResult> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const page = await store.scanDecisions(after, 5_000);
    if (page.length === 0) return { ok: true, checked: verifier.checked };
    const broken = verifier.check(page);
    if (broken) return { ok: false, checked: verifier.checked, broken };
    after = page[page.length - 1]!.seq;
    onProgress?.(verifier.checked);
  }
}
