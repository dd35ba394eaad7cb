import { maskCardsInRun } from './luhn.js';
import { KeyKind, type KeyMatcher } from './sensitive-keys.js';

/**
 * The value detectors of the redactor: each finds one kind of secret or personal data inside free
 * text and replaces it with `[REDACTED:<name>]` (a value found by its key becomes `[REDACTED]`).
 *
 * Matching is linear in the input. Every regex either starts with a literal or with a lookbehind
 * that lets it start only at the beginning of a run of its own characters, and its quantified parts
 * are separated by characters they cannot contain, or are bounded: no nested or overlapping
 * quantifiers. The two detectors that would otherwise need an unanchored start (emails, `key=value`)
 * are anchored on their separator (`@`, `:` / `=`) and scan backwards by hand. PEM blocks are found
 * with two forward scans instead of `BEGIN[\s\S]*?END`, which is quadratic on repeated BEGINs.
 * test/audit/redact.test.ts runs every detector on 1 MB adversarial strings.
 *
 * Each detector has a gate: a cheap necessary condition (mostly `includes` of a needle that starts
 * with an uncommon character, which V8 searches with memchr) so most text skips most regexes.
 */
export interface Detector {
  readonly name: string;
  /** Characters (Feature bits) a text must all contain for `apply` to change it. */
  readonly needs: number;
  /** Cheap necessary condition: when it is false, `apply` cannot change the text. */
  readonly gate: (text: string) => boolean;
  readonly apply: (text: string) => string;
}

/** Kinds of characters, found in one pass over a short text to skip most detectors at once. */
export const Feature = {
  DIGIT: 1,
  AT: 2,
  /** `:` or `=` */
  SEPARATOR: 4,
  DASH: 8,
  UNDERSCORE: 16,
  DOT: 32,
  SPACE: 64,
  UPPER: 128,
  SLASH: 256,
  /** A run of at least 9 ASCII digits, each separated from the next by at most one space or dash (an SSN). */
  DIGITS_9: 512,
  /** The same with at least 13 digits (a card number). */
  DIGITS_13: 1024,
  /** `A` (AWS and Google keys start with it). */
  CAPITAL_A: 2048,
  /** `k-` (`sk-…`). */
  K_DASH: 4096,
  /** `k_` (`wk_…`, `sk_live_…`). */
  K_UNDERSCORE: 8192,
} as const;
const ALL_FEATURES = 16383;
/** Above this length the per-character pass costs more than the gates it would save. */
const FEATURE_SCAN_MAX = 256;

export function features(text: string): number {
  if (text.length > FEATURE_SCAN_MAX) return ALL_FEATURES;
  let f = 0;
  // Digits of the current run (digits with single spaces or dashes between them), and the longest.
  let run = 0;
  let longest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) {
      run = 0;
      continue; // a-z, the common case
    }
    if (c >= 48 && c <= 57) {
      if (++run > longest) longest = run;
      continue;
    }
    if ((c !== 32 && c !== 45) || !isDigit(text.charCodeAt(i - 1))) run = 0;
    if (c >= 65 && c <= 90) f |= c === 65 ? Feature.UPPER | Feature.CAPITAL_A : Feature.UPPER;
    else if (c === 64) f |= Feature.AT;
    else if (c === 58 || c === 61) f |= Feature.SEPARATOR;
    else if (c === 45) f |= text.charCodeAt(i - 1) === 107 ? Feature.DASH | Feature.K_DASH : Feature.DASH;
    else if (c === 95) f |= text.charCodeAt(i - 1) === 107 ? Feature.UNDERSCORE | Feature.K_UNDERSCORE : Feature.UNDERSCORE;
    else if (c === 46) f |= Feature.DOT;
    else if (c === 32 || c === 9) f |= Feature.SPACE;
    else if (c === 47) f |= Feature.SLASH;
  }
  // Runs are measured, not just digits seen: dates, amounts and ids have digits, but rarely 9 in a run.
  if (longest > 0) f |= longest >= 13 ? Feature.DIGIT | Feature.DIGITS_9 | Feature.DIGITS_13 : longest >= 9 ? Feature.DIGIT | Feature.DIGITS_9 : Feature.DIGIT;
  return f;
}

/** At most this many passes over one text (see detectorRunner). */
const MAX_PASSES = 8;

/**
 * Runs a fixed list of detectors (a redactor's) over a text, in order, skipping those whose needs
 * or gate rule them out, and repeats while a pass may have uncovered something. Another pass is
 * needed when a marker changed what an earlier detector saw next to a match: in `001-01-0001wk_…`
 * the Warden key is glued to a digit and left alone, then the SSN becomes `[REDACTED:ssn]` and the
 * key is no longer glued. Repeating makes redaction idempotent and only ever masks more.
 *
 * No detector's match can contain a marker it did not already match around, and none is blocked
 * by whitespace, quotes or brackets: so a marker can only uncover a match when it touches another
 * character. When every marker stands between such delimiters (the usual case), the pass that made
 * them is the last one.
 *
 * Per feature set it keeps the list of detectors whose needs it meets, in their order (made on
 * first use; at most one per distinct set of features seen, a few dozen in practice), so a text is
 * only offered to the detectors it can concern.
 */
export function detectorRunner(detectors: readonly Detector[]): (text: string) => string {
  const lists = new Map<number, readonly Detector[]>();
  const candidates = (f: number): readonly Detector[] => {
    let list = lists.get(f);
    if (list === undefined) {
      list = detectors.filter((d) => (f & d.needs) === d.needs);
      lists.set(f, list);
    }
    return list;
  };
  return (text) => {
    let out = text;
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const before = out;
      const list = candidates(features(out));
      for (let i = 0; i < list.length; i++) {
        const d = list[i]!;
        if (d.gate(out)) out = d.apply(out);
      }
      if (out === before || !markerTouchesText(out)) break;
    }
    return out;
  };
}

/** Texts at most this long are remembered when no detector changed them (see rememberingClean). */
const CLEAN_TEXT_MAX = 64;
/** At most this many remembered texts (~512 KB at most); then the set starts over, as KeyMatcher's cache does. */
const CLEAN_TEXTS_LIMIT = 4_096;

/**
 * `run`, remembering the short texts it left as they were. A decision record's strings mostly
 * recur, from one record to the next (tenant, agent, tool, roles, the COAZ names) and within a
 * result (a status, a currency, a date on every row): a set lookup costs ~30 ns, the features pass
 * and the gates ~50-300 ns (a date, with its digits, `-` and `:`, is offered to several). The
 * detectors are a pure function of the text, so a text once left alone is always left alone, and
 * the answer is the text itself, the same string `run` returns. Texts a detector changed are not
 * remembered (their redaction is made of slices of them), and nothing that throws is.
 */
export function rememberingClean(run: (text: string) => string): (text: string) => string {
  const clean = new Set<string>();
  return (text) => {
    if (text.length > CLEAN_TEXT_MAX) return run(text);
    if (clean.has(text)) return text;
    const out = run(text);
    if (out === text) {
      if (clean.size >= CLEAN_TEXTS_LIMIT) clean.clear();
      clean.add(flatCopy(text));
    }
    return out;
  };
}

/**
 * The same characters in a string of their own. V8 keeps a slice of 13 characters or more as a
 * view of the string it was cut from (a tool's whole answer, say), and a remembered slice would
 * keep that alive; slicing a concatenation copies it flat first, so the result holds ~`text` only
 * (checked on Node 20: 20 remembered 40-character slices of 22 MB texts kept 26 MB alive, not 460).
 */
function flatCopy(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

/** Whitespace, quotes and brackets: characters no detector is blocked by. */
function isDelimiter(c: number): boolean {
  switch (c) {
    case 9: case 10: case 13: case 32: // \t \n \r space
    case 34: case 39: case 96: // " ' `
    case 40: case 41: case 60: case 62: case 91: case 93: case 123: case 125: // ( ) < > [ ] { }
    case 44: case 59: case 124: case 33: case 63: // , ; | ! ?
      return true;
    default:
      return Number.isNaN(c); // the start or end of the text
  }
}

/** True when some `[REDACTED…]` marker is directly next to a character other than a delimiter. */
function markerTouchesText(text: string): boolean {
  for (let at = text.indexOf('[REDACTED'); at >= 0; at = text.indexOf('[REDACTED', at + 1)) {
    if (!isDelimiter(text.charCodeAt(at - 1))) return true;
    const close = text.indexOf(']', at);
    if (close < 0) return true;
    if (!isDelimiter(text.charCodeAt(close + 1))) return true;
  }
  return false;
}

export function marker(name: string): string {
  return `[REDACTED:${name}]`;
}

/** The replacement of a value found by its key (in structured values and `key=value` text). */
export const REDACTED = '[REDACTED]';

const always = (): boolean => true;
// One closure per arity: these gates run on most strings, and a rest array with `some` costs more than the search.
function includes(a: string, b?: string): (text: string) => boolean {
  return b === undefined ? (text) => text.includes(a) : (text) => text.includes(a) || text.includes(b);
}
function includesAll(a: string, b: string): (text: string) => boolean {
  return (text) => text.includes(a) && text.includes(b);
}

/** `$` is special in String.prototype.replace replacement strings. */
function literalReplacement(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

function regexDetector(name: string, needs: number, regex: RegExp, gate: (text: string) => boolean): Detector {
  const replacement = literalReplacement(marker(name));
  return { name, needs, gate, apply: (text) => text.replace(regex, replacement) };
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** Beyond ASCII, what a key name may be made of: letters, digits, marks, invisible characters, `＿`-like connectors and dashes. */
const UNICODE_KEY_CHAR = /[\p{L}\p{N}\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Pc}\p{Pd}]/u;

/** `[A-Za-z0-9_-]`: the characters of a key name. */
function isKeyChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 95 || c === 45;
}
/**
 * A key name's characters and their look-alikes beyond ASCII (fullwidth letters, zero-width
 * characters, surrogate halves of mathematical letters). Keys are matched folded
 * (sensitive-keys.ts), so `pass\u200bword=` and `ｐａｓｓｗｏｒｄ=` are `password=`.
 */
function isKeyCharBeyondAscii(c: number): boolean {
  if (c < 128) return isKeyChar(c);
  return (c >= 0xd800 && c <= 0xdfff) || UNICODE_KEY_CHAR.test(String.fromCharCode(c));
}
/** `[A-Za-z0-9._%+-]`: the characters of the local part of an email address. */
function isLocalChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

/* ------------------------------------------------------------------ PEM private keys */

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;

/**
 * The whole block from BEGIN to the next END. A BEGIN without an END (a key cut off by a length
 * limit) masks everything to the end of the text: fail closed.
 */
function maskPrivateKeys(text: string): string {
  const replacement = marker('private_key');
  let out = '';
  let pos = 0;
  let found = false;
  for (;;) {
    PEM_BEGIN.lastIndex = pos;
    const begin = PEM_BEGIN.exec(text);
    if (!begin) break;
    found = true;
    out += text.slice(pos, begin.index) + replacement;
    PEM_END.lastIndex = begin.index + begin[0].length;
    const end = PEM_END.exec(text);
    if (!end) {
      pos = text.length;
      break;
    }
    pos = end.index + end[0].length;
  }
  return found ? out + text.slice(pos) : text;
}

/* ------------------------------------------------------------------ emails */

const EMAIL_DOMAIN = /[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/y;

/**
 * `local@domain.tld`: anchored on each `@`, the domain (dot-separated labels, alphabetic TLD of 2+
 * letters) is matched forwards and the local part (`[A-Za-z0-9._%+-]+`, all of the run) backwards.
 * `a@b`, `user@localhost` are not emails.
 */
function maskEmails(text: string): string {
  const replacement = marker('email');
  let out = '';
  let last = 0;
  let at = text.indexOf('@');
  while (at >= 0) {
    let start = at;
    while (start > last && isLocalChar(text.charCodeAt(start - 1))) start--;
    if (start < at) {
      EMAIL_DOMAIN.lastIndex = at + 1;
      const domain = EMAIL_DOMAIN.exec(text);
      if (domain) {
        out += text.slice(last, start) + replacement;
        last = at + 1 + domain[0].length;
        at = text.indexOf('@', last);
        continue;
      }
    }
    at = text.indexOf('@', at + 1);
  }
  return last === 0 ? text : out + text.slice(last);
}

/* ------------------------------------------------------------------ key = value in text */

// After the separator: optional blanks, then a quoted value ("…", '…', or \"…\" inside JSON that was
// itself put in a string) or a bare one (a token, or the rest of the line for header-like keys).
// A quote left open (text cut off by a length limit) runs to the end of the line: fail closed.
// A value that already is a marker is left alone, which keeps redaction idempotent.
const QUOTED = String.raw`"[^"\r\n]*"?|'[^'\r\n]*'?|\\"(?:[^"\\\r\n]|\\[^"\r\n])*(?:\\")?`;
const NOT_MASKED = String.raw`(?![\\"']{0,2}\[REDACTED)`;
const TOKEN_VALUE = new RegExp(String.raw`([ \t]{0,8})${NOT_MASKED}(${QUOTED}|[^\s"'\\,;&{}\[\]<>]+)`, 'y');
const LINE_VALUE = new RegExp(String.raw`([ \t]{0,8})${NOT_MASKED}(${QUOTED}|[^\s][^\r\n]*)`, 'y');
const MAX_KEY_CHARS = 64;
/** A plain lower-case word: the start of a sentence, not a secret, when another word follows. */
const PROSE_WORD = /^[a-z]{1,24}$/;
/** Blanks, then a word of letters that ends the way words in a sentence end. */
const NEXT_WORD = /[ \t]{1,8}[A-Za-z][a-z]{0,23}(?=[\s,.;!?]|$)/y;

function keepQuotes(value: string): string {
  if (value.startsWith('\\"')) return `\\"${REDACTED}\\"`;
  if (value.startsWith('"')) return `"${REDACTED}"`;
  if (value.startsWith("'")) return `'${REDACTED}'`;
  return REDACTED;
}

function nextIndex(text: string, needle: string, from: number): number {
  const i = text.indexOf(needle, from);
  return i < 0 ? Infinity : i;
}

/**
 * `password=hunter2`, `"api_key": "…"`, `?token=…&`, `Authorization: Basic …` in free text (and in
 * JSON that became text before it reached the redactor): the value after a sensitive key becomes
 * `[REDACTED]`, as it does in a structured value. Anchored on each `:` and `=`; the key is the
 * whole run of `[A-Za-z0-9_-]` before it (after at most 3 quotes/backslashes and 8 blanks), matched
 * like a structured key, so `max_tokens=5` and `next_page_token=…` are not `token=`.
 *
 * A colon also introduces an explanation in prose: in `no credentials: send an API key`, `send` is
 * not the value of `credentials`. So after `key: ` (a colon and a blank, never `=`), an unquoted
 * value that is a plain lower-case word followed by another word (`send an`) is a sentence and is
 * left alone. Secrets are rarely dictionary words in lower case followed by more words; a secret
 * at the end of the text or line, before a comma or another `key:` (`password: letmein user: bob`),
 * with a digit, a capital or a symbol, or quoted, is still masked. Header-like keys (the rest of
 * the line is the value) are not given this exception.
 */
export function keyValueDetector(keys: KeyMatcher): Detector {
  const apply = (text: string): string => {
    let out = '';
    let last = 0;
    let colon = nextIndex(text, ':', 0);
    let equals = nextIndex(text, '=', 0);
    while (colon !== Infinity || equals !== Infinity) {
      const sep = Math.min(colon, equals);
      if (sep === colon) colon = nextIndex(text, ':', sep + 1);
      else equals = nextIndex(text, '=', sep + 1);
      if (sep < last) continue;
      let i = sep;
      for (let n = 0; n < 8 && i > last && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9); n++) i--;
      for (let n = 0; n < 3 && i > last; n++) {
        const c = text.charCodeAt(i - 1);
        if (c !== 34 && c !== 39 && c !== 92) break;
        i--;
      }
      const end = i;
      while (i > 0 && end - i <= MAX_KEY_CHARS && isKeyChar(text.charCodeAt(i - 1))) i--;
      if (end - i > MAX_KEY_CHARS) continue;
      // The ASCII run (`token` in `認証token=`), else the run with look-alikes (`ｔｏｋｅｎ=`).
      let start = i;
      while (start > 0 && end - start <= MAX_KEY_CHARS && isKeyCharBeyondAscii(text.charCodeAt(start - 1))) start--;
      if (start === end) continue;
      // Slices shorter than 13 characters are copies in V8 (SlicedString::kMinLength), safe to cache.
      // A run its first character rules out is not sliced (a slice of 13+ characters is a new object each time).
      let kind: KeyKind = i < end && !keys.ruledOutIn(text, i, end) ? keys.kind(text.slice(i, end), end - i < 13) : KeyKind.None;
      if (kind === KeyKind.None && start < i && end - start <= MAX_KEY_CHARS) kind = keys.kind(text.slice(start, end), false);
      if (kind === KeyKind.None) continue;
      const valueRegex = kind === KeyKind.Line ? LINE_VALUE : TOKEN_VALUE;
      valueRegex.lastIndex = sep + 1;
      const value = valueRegex.exec(text);
      if (!value) continue;
      if (kind === KeyKind.Value && text.charCodeAt(sep) === 58 && value[1]!.length > 0 && PROSE_WORD.test(value[2]!)) {
        NEXT_WORD.lastIndex = valueRegex.lastIndex;
        if (NEXT_WORD.test(text)) continue;
      }
      out += text.slice(last, sep + 1) + value[1]! + keepQuotes(value[2]!);
      last = valueRegex.lastIndex;
    }
    return last === 0 ? text : out + text.slice(last);
  };
  return { name: 'key_value', needs: Feature.SEPARATOR, gate: always, apply };
}

/* ------------------------------------------------------------------ cards */

const CARD_RUN = /\d(?:[ -]?\d){12,}/g;

/**
 * Digits glued to letters (`a3f5…` hex ids, trace ids) or to a decimal point (`3.14159…`) are not
 * card numbers; this keeps hashes in the log intact.
 */
function gluedBefore(text: string, index: number): boolean {
  const c = text.charCodeAt(index - 1);
  return isLetter(c) || ((c === 46 || c === 44) && isDigit(text.charCodeAt(index - 2)));
}
function gluedAfter(text: string, index: number): boolean {
  const c = text.charCodeAt(index);
  return isLetter(c) || ((c === 46 || c === 44) && isDigit(text.charCodeAt(index + 1)));
}

function maskCards(text: string): string {
  const replacement = marker('card');
  return text.replace(CARD_RUN, (run: string, offset: number, whole: string) =>
    maskCardsInRun(run, gluedBefore(whole, offset), gluedAfter(whole, offset + run.length), replacement),
  );
}

/* ------------------------------------------------------------------ the others */

/** The value after `aws_secret_access_key=` / `"SecretAccessKey": "` (the key itself is kept). */
const ACCESS_WORD = /access/i;
const AWS_SECRET =
  /(secret[_-]?access[_-]?key[\\"']{0,3}[ \t]{0,8}[:=][ \t]{0,8}[\\"']{0,2})([A-Za-z0-9/+=]{16,})/gi;

/** `scheme://user:password@host` and `redis://:password@host`: user and password are masked. */
const URL_CREDENTIALS = /(:\/\/)[^\s/?#@:"'<>[\]{}]*:[^\s/?#@"'<>[\]{}]+@/g;

const BEARER_WORD = /bearer/i;
const BEARER = /(?<![A-Za-z0-9])(bearer)([ \t]+)([A-Za-z0-9._~+/-]+=*)/gi;

/** `Bearer token`, `bearer of bad news`: a short all-letters word is not a credential. */
function isWord(token: string): boolean {
  return token.length < 20 && /^[A-Za-z][a-z]*$/.test(token);
}

/** The built-in detectors, in the order they run: PEM blocks first, then the most specific. */
export function defaultDetectors(keys: KeyMatcher): Detector[] {
  const { DIGIT, DIGITS_9, DIGITS_13, AT, SEPARATOR, DASH, UNDERSCORE, DOT, SPACE, UPPER, SLASH, CAPITAL_A, K_DASH, K_UNDERSCORE } = Feature;
  return [
    { name: 'private_key', needs: DASH | UPPER | SPACE, gate: includes('PRIVATE KEY'), apply: maskPrivateKeys },
    regexDetector(
      'jwt',
      DOT | UPPER,
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{7,}(?:\.[A-Za-z0-9_-]*){2,4}/g,
      includesAll('J', 'eyJ'),
    ),
    regexDetector('aws_access_key_id', UPPER | CAPITAL_A, /(?:AKIA|ASIA)[A-Z0-9]{16}/g, includes('AKIA', 'ASIA')),
    {
      name: 'aws_secret_access_key',
      needs: SEPARATOR,
      gate: (text) => text.length >= 32 && ACCESS_WORD.test(text),
      apply: (text) => text.replace(AWS_SECRET, `$1${marker('aws_secret_access_key')}`),
    },
    regexDetector(
      'github_token',
      UNDERSCORE,
      /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g,
      (text) => text.length >= 34 && (text.includes('gh') || text.includes('github_pat_')),
    ),
    regexDetector('slack_token', DASH, /(?<![A-Za-z0-9])xox[abpors]-[A-Za-z0-9-]{10,}/g, includes('xox')),
    regexDetector(
      'stripe_key',
      UNDERSCORE | K_UNDERSCORE,
      /(?<![A-Za-z0-9])[rs]k_(?:live|test)_[A-Za-z0-9]{10,}/g,
      includes('_live_', '_test_'),
    ),
    regexDetector('anthropic_key', DASH | K_DASH, /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,}/g, includes('-ant-')),
    regexDetector('openai_key', DASH | K_DASH, /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}/g, includes('k-')),
    regexDetector('google_api_key', UPPER | CAPITAL_A, /AIza[0-9A-Za-z_-]{35}/g, includes('AIza')),
    regexDetector('warden_key', UNDERSCORE | K_UNDERSCORE, /(?<![A-Za-z0-9])wk_[A-Za-z0-9]{4,64}_[A-Za-z0-9_-]{16,}/g, includes('wk_')),
    {
      name: 'url_credentials',
      needs: SEPARATOR | AT | SLASH,
      gate: includes('://'),
      apply: (text) => text.replace(URL_CREDENTIALS, `$1${marker('url_credentials')}@`),
    },
    {
      name: 'bearer',
      needs: SPACE,
      gate: (text) => text.length >= 8 && BEARER_WORD.test(text),
      apply: (text) =>
        text.replace(BEARER, (match: string, scheme: string, space: string, token: string) =>
          isWord(token) ? match : `${scheme}${space}${marker('bearer')}`,
        ),
    },
    keyValueDetector(keys),
    { name: 'email', needs: AT | DOT, gate: always, apply: maskEmails },
    regexDetector(
      'ssn',
      DIGIT | DIGITS_9 | DASH,
      /(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)/g,
      (text) => text.length >= 11,
    ),
    { name: 'card', needs: DIGIT | DIGITS_13, gate: (text) => text.length >= 13, apply: maskCards },
  ];
}

/**
 * A detector from configuration: a JS regex source, compiled once with the `g` flag. Empty matches
 * are left alone (a pattern such as `x*` would otherwise insert markers everywhere).
 */
export function customDetector(name: string, source: string): Detector {
  const regex = new RegExp(source, 'g');
  const replacement = marker(name);
  return {
    name,
    needs: 0,
    gate: always,
    apply: (text) => text.replace(regex, (match: string) => (match.length === 0 ? match : replacement)),
  };
}
