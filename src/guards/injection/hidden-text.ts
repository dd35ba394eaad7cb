/**
 * hidden_text: what a person reviewing the text would not see but a model reads —
 * - invisible format characters (zero-width space/joiners, word joiner, invisible operators,
 *   BOM mid-text, Mongolian vowel separator) in runs or numbers a typist does not produce, and
 *   keywords split by them ("ig\u200Bnore") — the text without them is scanned again;
 * - Unicode tag characters (U+E0000–E007F), decoded to the ASCII they smuggle; the emoji flag
 *   tag sequences (🏴 + tags + cancel tag, e.g. Scotland) are left alone;
 * - bidi overrides (U+202D/202E) and unbalanced embeddings/isolates (U+202A–202C, U+2066–2069),
 *   which reorder what is displayed; balanced isolates in right-to-left text are normal;
 * - HTML comments and CSS-hidden elements (display:none, font-size:0, white on white…) whose
 *   content reads like instructions to a model.
 * Legitimate uses pass: a ZWJ inside an emoji sequence, a ZWNJ in Persian or Indic words, a
 * leading BOM, LRM/RLM marks in Hebrew or Arabic text.
 */
import { eachMatch, hasAny, type Detector, type DetectorContext } from './context.js';
import { hasInstructionCue, hasStrongCue } from './cues.js';
import { quote } from './text-utils.js';

// Characters that render as nothing. U+200E/200F (LRM/RLM) and U+200C/200D are judged by context.
const INVISIBLE = /[\u180E\u200B-\u200F\u2060-\u2064\u206A-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/;
const INVISIBLE_G = /[\u180E\u200B-\u200F\u2060-\u2064\u206A-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
const BIDI_G = /[\u202A-\u202E\u2066-\u2069]/g;
const RTL_LETTERS = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
// Ranges of code units, combining marks included on purpose: we test the neighbours of a joiner.
// eslint-disable-next-line no-misleading-character-class
const JOINER_SCRIPTS = /[\u0600-\u06FF\u0750-\u077F\u0900-\u0DFF\u0F00-\u0FFF\u1000-\u109F]/; // Arabic/Persian, Indic, Tibetan, Myanmar
// eslint-disable-next-line no-misleading-character-class
const EMOJI_CONTEXT = /[\u2600-\u27BF\uFE0F\u200D]|\uD83C[\uDC00-\uDFFF]|\uD83D[\uDC00-\uDFFF]|\uD83E[\uDC00-\uDFFF]/;

const HTML_COMMENT_NEEDLES = ['<!--'];
const ELEMENT_OPEN = /<([a-z][a-z0-9]*)\b([^<>]{0,400})>/gi;
const HIDDEN_STYLE =
  /display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0*)?(?:px|pt|em|rem)?\s*(?:;|!|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|!|$)|(?:left|top|text-indent)\s*:\s*-\d{4,}px|(?:^|;)\s*(?:height|width)\s*:\s*0(?:px)?\s*(?:;|$)/i;
const WHITE = /(?:^|;)\s*color\s*:\s*(?:#fff(?:fff)?|white|rgba?\(\s*255\s*,\s*255\s*,\s*255)\b/i;
const WHITE_BACKGROUND = /background(?:-color)?\s*:\s*(?:#fff(?:fff)?|white)\b/i;
const STYLE_ATTR = /\bstyle\s*=\s*(?:"([^"]*)"|'([^']*)')/i;

/** Any invisible, bidi or tag character (a lone high surrogate U+DB40 stands for the tag block): one fast class test. */
const ANY_FORMAT_CHAR = /[\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\u206A-\u206F\uFEFF\uDB40]/;

export const detectHiddenText: Detector = (ctx) => {
  const { text } = ctx;
  // Every character ANY_FORMAT_CHAR names is outside ASCII: an ASCII text is not read for them.
  if (!ctx.ascii && ANY_FORMAT_CHAR.test(text)) {
    if (INVISIBLE.test(text)) invisibleCharacters(ctx);
    if (BIDI.test(text)) bidiControls(ctx);
  }
  if (hasAny(ctx.lower, HTML_COMMENT_NEEDLES)) htmlComments(ctx);
  if (ctx.lower.includes('<') && hasAny(ctx.lower, ['display', 'visibility', 'font-size', 'opacity', 'color', 'hidden', 'indent', 'height', 'width', 'position', 'left:', 'top:'])) hiddenElements(ctx);
};

function invisibleCharacters(ctx: DetectorContext): void {
  const { text } = ctx;
  const rtl = RTL_LETTERS.test(text);
  let counted = 0;
  let first = -1;
  let longestRun = 0;
  let run = 0;
  let lastEnd = -1;
  let tags = '';
  let tagStart = -1;
  let tagCount = 0;
  const insideWords: number[] = [];
  INVISIBLE_G.lastIndex = 0;
  let m: RegExpExecArray | null;
  let scanned = 0;
  while ((m = INVISIBLE_G.exec(text)) !== null && scanned++ < 100_000) {
    const i = m.index;
    const c = text.charCodeAt(i);
    if (c === 0xdb40) {
      // Tag character: U+E0000 + (low surrogate - 0xDC00).
      const code = text.charCodeAt(i + 1) - 0xdc00;
      if (isFlagTag(text, i)) continue;
      tagCount++;
      if (tagStart === -1) tagStart = i;
      if (code >= 0x20 && code < 0x7f && tags.length < 200) tags += String.fromCharCode(code);
      continue;
    }
    if (c === 0xfeff && i === 0) continue; // byte order mark
    if ((c === 0x200e || c === 0x200f) && rtl) continue; // direction marks in RTL text
    if (c === 0x200d && (EMOJI_CONTEXT.test(text.slice(Math.max(0, i - 2), i)) || JOINER_SCRIPTS.test(text.slice(Math.max(0, i - 1), i)))) continue;
    if (c === 0x200c && JOINER_SCRIPTS.test(text.slice(Math.max(0, i - 1), i + 2))) continue;
    counted++;
    if (first === -1) first = i;
    if (insideWords.length < 32 && LETTER.test(text.charAt(i - 1)) && LETTER.test(text.charAt(i + 1 + (text.charCodeAt(i + 1) === 0x200b ? 1 : 0)))) insideWords.push(i);
    run = i === lastEnd ? run + 1 : 1;
    if (run > longestRun) longestRun = run;
    lastEnd = i + 1;
  }
  INVISIBLE_G.lastIndex = 0;

  if (tagCount > 0) {
    const decoded = tags.trim();
    const rescanned = decoded.length > 0 && ctx.depth === 0 ? ctx.rescan(decoded) : [];
    const strong = rescanned.some((f) => f.score >= 0.5);
    ctx.add(
      'hidden_text',
      strong ? 0.95 : tagCount >= 4 ? 0.85 : 0.5,
      `${tagCount} Unicode tag characters${decoded ? ` spelling ${quote(decoded)}` : ''}`,
      tagStart,
    );
  }

  if (counted === 0) return;
  // Keywords split by invisible characters ("ig\u200Bnore"): where one sits between two letters,
  // scan the surrounding text without them and compare. Windows, not the whole text, so the cost
  // follows the number of such places.
  let hides: string | undefined;
  if (ctx.depth === 0 && insideWords.length > 0) {
    for (const [from, to] of mergeWindows(insideWords, text.length)) {
      const window = text.slice(from, to);
      const before = new Set(ctx.rescan(window).filter((f) => f.score >= 0.5).map((f) => f.kind));
      const after = ctx.rescan(window.replace(INVISIBLE_G, '')).filter((f) => f.score >= 0.5 && !before.has(f.kind));
      if (after.length > 0) {
        hides = after[0]!.detail;
        break;
      }
    }
  }
  if (hides) {
    ctx.add('hidden_text', 0.9, `invisible characters split words; without them: ${hides}`, first);
  } else if (longestRun >= 4 || counted >= 8) {
    ctx.add('hidden_text', counted >= 16 ? 0.8 : 0.65, `${counted} invisible characters (longest run ${longestRun}), e.g. an encoded payload`, first);
  } else {
    ctx.add('hidden_text', 0.15, `${counted} invisible character${counted === 1 ? '' : 's'}`, first);
  }
}

const LETTER = /[\p{L}\p{N}]/u;

/** Windows of ±300 characters around the positions, merged where they overlap. */
function mergeWindows(positions: readonly number[], length: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of positions) {
    const from = Math.max(0, p - 300);
    const to = Math.min(length, p + 300);
    const last = out[out.length - 1];
    if (last && from <= last[1]) last[1] = to;
    else out.push([from, to]);
  }
  return out;
}

/** A tag character inside an emoji flag sequence: U+1F3F4 followed by tag letters and a cancel tag. */
function isFlagTag(text: string, i: number): boolean {
  let j = i;
  let n = 0;
  while (j >= 2 && text.charCodeAt(j - 2) === 0xdb40 && n < 8) {
    j -= 2;
    n++;
  }
  if (!(text.charCodeAt(j - 2) === 0xd83c && text.charCodeAt(j - 1) === 0xdff4)) return false; // 🏴
  let k = i;
  let m = 0;
  while (k < text.length && text.charCodeAt(k) === 0xdb40 && m < 8) {
    if (text.charCodeAt(k + 1) === 0xdc7f) return true; // cancel tag ends the flag
    k += 2;
    m++;
  }
  return false;
}

function bidiControls(ctx: DetectorContext): void {
  const { text } = ctx;
  const rtl = RTL_LETTERS.test(text);
  let overrides = 0;
  let opens = 0;
  let closes = 0;
  let first = -1;
  let firstOverride = -1;
  eachMatch(
    BIDI_G,
    text,
    (m) => {
      const c = text.charCodeAt(m.index);
      if (first === -1) first = m.index;
      if (c === 0x202d || c === 0x202e) {
        overrides++;
        if (firstOverride === -1) firstOverride = m.index;
      }
      if (c === 0x202a || c === 0x202b || c === 0x202d || c === 0x202e || c === 0x2066 || c === 0x2067 || c === 0x2068) opens++;
      if (c === 0x202c || c === 0x2069) closes++;
    },
    10_000,
  );
  if (overrides > 0) {
    // An override in text with no right-to-left script is how "exe.pdf" becomes "fdp.exe" (Trojan Source).
    const around = text.slice(firstOverride, firstOverride + 60);
    ctx.add('hidden_text', rtl ? 0.55 : 0.75, `bidi override (U+202D/U+202E) reverses displayed text ${quote(around, 30)}`, firstOverride);
  } else if (opens !== closes) {
    ctx.add('hidden_text', rtl ? 0.3 : 0.5, `unbalanced bidi embedding/isolate controls (${opens} opened, ${closes} closed)`, first);
  } else if (!rtl) {
    ctx.add('hidden_text', 0.2, `bidi isolate/embedding controls in left-to-right text`, first);
  }
}

function htmlComments(ctx: DetectorContext): void {
  const { text } = ctx;
  let from = 0;
  let n = 0;
  // indexOf rather than /<!--[\s\S]*?-->/ so an unclosed comment cannot make the search quadratic.
  while (n++ < 200) {
    const start = text.indexOf('<!--', from);
    if (start === -1) return;
    let end = text.indexOf('-->', start + 4);
    const closed = end !== -1;
    if (!closed) end = Math.min(text.length, start + 4 + 2000);
    const body = text.slice(start + 4, Math.min(end, start + 4 + 2000));
    // A comment that names the assistant is common ("TODO: assistant avatar"); one that gives orders is not.
    const rescanned = ctx.depth === 0 && hasInstructionCue(body) ? ctx.rescan(body) : [];
    const strong = rescanned.some((f) => f.score >= 0.5);
    if (strong || hasStrongCue(body)) ctx.add('hidden_text', strong ? 0.85 : 0.6, `HTML comment with instructions ${quote(body)}`, start);
    if (!closed) return;
    from = end + 3;
  }
}

function hiddenElements(ctx: DetectorContext): void {
  const { text } = ctx;
  eachMatch(ELEMENT_OPEN, text, (m) => {
    const attrs = m[2] ?? '';
    const style = STYLE_ATTR.exec(attrs);
    const css = style ? (style[1] ?? style[2] ?? '') : '';
    const hidden =
      (css && (HIDDEN_STYLE.test(css) || (WHITE.test(css) && (WHITE_BACKGROUND.test(css) || !/background/i.test(css))))) ||
      /(?:^|\s)hidden(?:\s|=|$)|aria-hidden\s*=\s*["']?true/i.test(attrs);
    if (!hidden) return;
    const from = m.index + m[0].length;
    const after = text.slice(from, from + 600);
    const closeTag = after.search(new RegExp(`</${m[1] ?? 'x'}\\b`, 'i'));
    const content = after.slice(0, closeTag === -1 ? 600 : closeTag).replace(/<[^<>]{0,200}>/g, ' ');
    if (!hasInstructionCue(content)) return;
    const rescanned = ctx.depth === 0 ? ctx.rescan(content) : [];
    const strong = rescanned.some((f) => f.score >= 0.5);
    ctx.add('hidden_text', strong ? 0.85 : 0.6, `hidden element with instructions ${quote(content)}`, m.index);
  }, 256);
}
