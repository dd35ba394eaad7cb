/**
 * Mention versus use. A security article that writes 'attackers type "ignore previous
 * instructions"' mentions an attack; it does not perform one. A finding whose match sits inside
 * quotation marks or backticks, in a text that talks about attacks, is damped (halved).
 *
 * This is a trade-off, written down: an attacker can wrap a payload in quotes and add the word
 * "example"; the payload then needs a second finding to cross the default threshold. Quotes
 * that open a data value (`"text": "…"`, `["…"]`, `x = "…"`) do not count, so a payload inside
 * a JSON tool result is not damped.
 */
const META_DISCUSSION =
  /injection|injektion|inyecci[oó]n|inje[cç][aã]o|iniezione|インジェクション|注入|인젝션|инъекц|حقن|इंजेक्शन|攻撃|攻击|공격|atacante|attaquant|angreifer|attaccante|злоумышлен|हमलावर|prompt[\s-]+injections?|jailbreak|attack|adversar|malicious|red[\s-]?team|threat\s+model|e\.g\.|examples?\b(?!\.)|for\s+instance|such\s+as|phrases?\s+like|payloads?|classifier|detector|guardrail|phishing|scam|xss|exploit|vulnerab|security/i;

const LONG_TEXT = 600;

/** In a finding's detail: the phrase is in a form that reports an order (an infinitive, a Japanese 無視し、), not one that gives it. */
export const REPORTED_FORM = ' (reported form)';

/**
 * A long text that talks about attacks (an article, docs, a guardrail's tests): the sideways
 * cues of manipulation.ts and multilingual.ts, which are common words in such texts, are not
 * read there; the direct phrase rules still are.
 */
export function isLongTextAboutAttacks(text: string): boolean {
  return text.length >= LONG_TEXT && META_DISCUSSION.test(text);
}

export interface MentionState {
  meta?: boolean;
}

/**
 * An opening single quote before `index` on the line (after a space, bracket or line start and
 * before a non-space) with no closing one (after a non-space, before a space or punctuation)
 * between it and `index`; apostrophes inside words ("don't") are neither.
 */
function openSingleQuote(text: string, lineStart: number, index: number): number {
  let open = -1;
  for (let i = lineStart; i < index; i++) {
    const c = text[i];
    if (c !== "'" && c !== '\u2018' && c !== '\u2019') continue;
    const before = i > lineStart ? text[i - 1]! : ' ';
    const after = text[i + 1] ?? ' ';
    if (open === -1 && c !== '\u2019' && /[\s([{:]/.test(before) && /\S/.test(after)) open = i;
    else if (open !== -1 && c !== '\u2018' && /\S/.test(before) && /[\s.,;:!?)\]]/.test(after)) open = -1;
  }
  return open;
}

/** True when `index` is inside a quoted span or code span of its line, in a text about attacks. */
export function isQuotedMention(text: string, index: number, state: MentionState): boolean {
  const lineStart = Math.max(text.lastIndexOf('\n', index - 1) + 1, index - 400);
  let open: number;
  let straight = 0;
  let curly = 0;
  let ticks = 0;
  let lastStraight = -1;
  let lastCurly = -1;
  let lastTick = -1;
  for (let i = lineStart; i < index; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      straight++;
      lastStraight = i;
    } else if (c === 0x201c || c === 0xab || c === 0x201e || c === 0x300c || c === 0x300e || c === 0x300a || c === 0xff62) {
      // “ « „ and the CJK corner and title brackets 「 『 《 (Japanese and Chinese quote with these).
      curly++;
      lastCurly = i;
    } else if (c === 0x201d || c === 0xbb || c === 0x300d || c === 0x300f || c === 0x300b || c === 0xff63) {
      if (curly > 0) curly--;
    } else if (c === 0x60) {
      ticks++;
      lastTick = i;
    }
  }
  if (straight % 2 === 1) open = lastStraight;
  else if (curly > 0) open = lastCurly;
  else if (ticks % 2 === 1) open = lastTick;
  else open = openSingleQuote(text, lineStart, index);
  if (open === -1) return false;
  // `"key": "payload"`, `["payload"]`, `x = "payload"`: a data value, not a quotation.
  let j = open - 1;
  while (j >= lineStart && (text[j] === ' ' || text[j] === '\t')) j--;
  const prev = j >= 0 ? text[j]! : '';
  if (prev === '[' || prev === '{' || prev === '=') return false;
  if (prev === ',' && j === open - 1) return false; // CSV cell: ,"…"
  if ((prev === ':' || prev === ',') && j > 0 && /["'\]}\d]/.test(text[j - 1]!)) return false;
  state.meta ??= META_DISCUSSION.test(text);
  return state.meta;
}

/**
 * Reported speech: "an attacker crafts a prompt instructing the LLM to disregard previous
 * instructions", "prompts that make the model ignore …", "e.g. ignore previous instructions".
 * The phrase is the object of a verb of causing or telling, in a text about attacks; an
 * injection gives the order, it does not describe someone giving it. Same trade-off as quotes.
 */
const REPORTING =
  /\b(?:instruct(?:s|ed|ing)?|tell(?:s|ing)?|told|mak(?:e|es|ing)|made|caus(?:e|es|ed|ing)|trick(?:s|ed|ing)?|ask(?:s|ed|ing)?|designed|attempt(?:s|ed|ing)?|tr(?:y|ies|ied|ying)|convinc(?:e|es|ed|ing)|manipulat(?:e|es|ed|ing)|lead(?:s|ing)?|led|get(?:s|ting)?|forc(?:e|es|ed|ing)|direct(?:s|ed|ing)?|command(?:s|ed|ing)?|such\s+as|like|e\.g\.|i\.e\.|example|phrases?|saying|says)\b[^.!?\n]{0,50}$/i;

/** Just before a phrase: the opening quote of a JSON / code data value. */
const DATA_VALUE_START = /(?:["'\]}\d]\s*[:,]|[[{=])\s*["']$/;

export function isReportedMention(text: string, index: number, state: MentionState): boolean {
  const before = text.slice(Math.max(0, index - 70), index);
  // The phrase opens a data value (`"text": "ignore …"`, `["ignore …"]`): a payload, whatever key came before.
  if (DATA_VALUE_START.test(before)) return false;
  if (!REPORTING.test(before)) return false;
  state.meta ??= META_DISCUSSION.test(text);
  return state.meta;
}
