/** At most this many words in a search: each is one more index lookup. */
const MAX_WORDS = 16;
const MAX_WORD_LENGTH = 64;

/**
 * The words of a free-text search over decision reasons: runs of letters and digits, lower-cased.
 * Both backends index reasons as such runs (SQLite FTS5's unicode61 tokenizer; on Postgres the
 * reason with every other character made a space, see postgres/decision-search.ts), and match each
 * word as a word or a word's beginning, so "refund ord" finds "refunds of orders".
 */
export function searchWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.slice(0, MAX_WORD_LENGTH)))].slice(0, MAX_WORDS);
}
