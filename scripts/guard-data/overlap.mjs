/**
 * Near-duplicate check between candidate TUNING items and reference texts (held-out sources).
 * Many public collections copy CyberSecEval (also machine-translated) or Tensor Trust; a tuning
 * item that is a copy of a held-out text would leak the evaluation into training.
 *
 * Texts are normalised (NFKC, lower case, every run of non-letters/digits → one space) and cut
 * into character 5-gram shingles, which works the same for every script (no word splitting for
 * ja/zh). A candidate overlaps a reference text when
 *   - the normalised texts are equal, or
 *   - the Jaccard similarity of their shingle sets is ≥ 0.8, or
 *   - ≥ 80 % of the reference's shingles occur in the candidate (a held-out attack wrapped in a
 *     longer template or document), for references of at least 40 shingles.
 * Shingles that occur in more than 2 % of the references (and at least 50 of them) are too common
 * to say anything about identity; they are left out of both sides of the count.
 */

const K = 5;
export const JACCARD = 0.8;
export const CONTAINMENT = 0.8;

export function normalise(text) {
  return String(text)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function shingles(norm) {
  const s = new Set();
  if (norm.length <= K) {
    if (norm) s.add(norm);
    return s;
  }
  for (let i = 0; i + K <= norm.length; i++) s.add(norm.slice(i, i + K));
  return s;
}

/** Builds an index over reference texts; `overlaps(text)` then says whether a candidate copies one of them. */
export function overlapIndex(referenceTexts) {
  const exact = new Set();
  const refs = [];
  const df = new Map();
  for (const t of referenceTexts) {
    const n = normalise(t);
    if (!n) continue;
    exact.add(n);
    const sh = shingles(n);
    refs.push(sh);
    for (const g of sh) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const common = Math.max(50, Math.ceil(refs.length * 0.02));
  const postings = new Map();
  const sizes = refs.map((sh, r) => {
    let size = 0;
    for (const g of sh) {
      if (df.get(g) > common) continue;
      size++;
      let p = postings.get(g);
      if (!p) postings.set(g, (p = []));
      p.push(r);
    }
    return size;
  });

  return function overlaps(text) {
    const n = normalise(text);
    if (!n) return false;
    if (exact.has(n)) return true;
    const sh = shingles(n);
    let size = 0;
    const shared = new Map();
    for (const g of sh) {
      if ((df.get(g) ?? 0) > common) continue;
      size++;
      const p = postings.get(g);
      if (p) for (const r of p) shared.set(r, (shared.get(r) ?? 0) + 1);
    }
    for (const [r, common2] of shared) {
      const jaccard = common2 / (size + sizes[r] - common2);
      if (jaccard >= JACCARD) return true;
      if (sizes[r] >= 40 && common2 / sizes[r] >= CONTAINMENT) return true;
    }
    return false;
  };
}
