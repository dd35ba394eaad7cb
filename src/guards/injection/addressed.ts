/**
 * addressed_instruction: orders given to the model that reads a piece of data, in the words
 * attackers use when no "ignore previous instructions" is needed —
 * - a note addressed to the model: "this is a message from me, Emma, to you, the AI assistant",
 *   "if you are an AI reading this", "dear assistant";
 * - a hijack of the task in progress: "before you finish the task, do the following",
 *   "instead of summarizing, …", "disregard everything except what is in the angle brackets";
 * - fake system / admin / TODO markers: `###(system_message)`, `[ADMIN INSTRUCTION]`, a TODO
 *   addressed to an assistant;
 * - shouted stop-and-do orders ("STOP. IGNORE THE TASK AND …");
 * - "ignore the instructions" and "reveal the password / system prompt" in other languages
 *   (verb and noun near each other, either order: ja, zh, ko, hi and tr put the verb last);
 * - misspelled keywords ("iunstructions", "prevoius"): a copy with near-miss words corrected
 *   is scanned again by the phrase detectors.
 * Gated by substring needles like the other phrase detectors; patterns are bounded.
 */
import { eachMatch, type Detector, type DetectorContext } from './context.js';
import { hasStrongCue } from './cues.js';
import { REPORTED_FORM } from './mention.js';
import { letterBound, letterCounts, misspellingFilter } from './prefilters.js';
import { quote } from './text-utils.js';
import { isAscii, sharedTriggers, sharedWordGate, Triggers, type RuleHits } from './triggers.js';

const MODEL = '(?:ai|a\\.i\\.|assistant|ai\\s+assistant|language\\s+model|llm|model|agent|ai\\s+agent|chatbot|bot|gpt|chatgpt|claude|gemini|copilot|llama)';

const ADDRESS_NEEDLES = ['to you', 'for you', 'dear ', 'attention', 'if you are', 'reading this', 'note to', 'message to', 'message for', 'message from'];
const ADDRESS = new RegExp(
  `\\b(?:(?:message|note|instruction|request)s?\\s+(?:from\\s+[^\\n.]{1,40}?\\s+)?(?:to|for)\\s+(?:you[,\\s]+)?(?:the\\s+|my\\s+|an?\\s+)?${MODEL}|(?:to|for)\\s+you,?\\s+(?:the\\s+)?${MODEL}\\b|dear\\s+${MODEL}|attention[,:!\\s]+(?:all\\s+)?(?:the\\s+)?${MODEL}s?|if\\s+you\\s+are\\s+(?:an?\\s+)?(?:ai|llm|language\\s+model|assistant|ai\\s+assistant|agent|chatbot|bot)\\b|${MODEL}s?\\s+(?:that\\s+(?:is|are)\\s+)?reading\\s+this)\\b`,
  'gi',
);

const HIJACK_NEEDLES = ['before you', 'after you', 'once you', 'instead of', 'except what', 'except the', 'except for', 'other than what', 'only what', 'but first', 'first,'];
const HIJACK =
  /\b(?:(?:before|after|once)\s+you\s+(?:finish|complete|continue|proceed|answer|respond|reply|summari[sz]e|start|begin|do|are\s+done\s+with|move\s+on)\b[^.\n]{0,60}?[,:]?\s*(?:please\s+)?(?:(?:you\s+)?(?:must|should|need\s+to|have\s+to)\s+|first\s+|make\s+sure\s+(?:to|you)\s+|do\s+the\s+following|(?:send|forward|email|transfer|pay|delete|call|run|execute|open|visit|post|share|upload|grant|add|create|update|change|write|tell|reveal|include)\b)|instead\s+of\s+(?:summari[sz]ing|answering|translating|doing|completing|following|responding|replying|performing|classifying)\b[^.\n]{0,60}?,?\s*(?:please\s+)?(?:you\s+(?:must|should)\s+)?(?:send|forward|email|transfer|write|say|print|output|reply|respond|tell|list|reveal|do|call|run|post)\b|(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+(?:except|but|other\s+than|apart\s+from)\b)/gi;

const MARKER_NEEDLES = ['system', 'admin', 'todo', 'developer', 'instruction'];
const MARKER =
  /(?:#{2,}\s*\(?\s*(?:system|admin|developer|important)[\s_-]*(?:message|instruction|prompt|note|update|override)s?\s*\)?|\[\s*(?:system|admin|administrator|developer)[\s_-]*(?:message|instruction|note|prompt|override|command)s?\s*\]|\(\s*(?:system|admin)[\s_-]*(?:message|instruction|note)\s*\)|<\s*\/?\s*(?:system[_-]?(?:message|instruction|prompt)|admin[_-]?(?:message|instruction)|important[_-]?instructions?)\s*>)/gi;
/** After a fake marker: an order (to the reader, or to call a tool). */
const IMPERATIVE = /\b(?:please|you|must|call|invoke|send|transfer|forward|delete|remove|run|execute|email|pay|grant|export|upload|share|post|reveal|print)\b/i;
const TODO = new RegExp(`\\btodo\\b\\s*[:\\-]?\\s*(?:for\\s+(?:the\\s+)?${MODEL}|${MODEL}\\b|\\(?\\s*${MODEL}\\s*\\)?\\s*:)`, 'gi');

const SHOUT = /\b(?:STOP|HALT|ATTENTION|IMPORTANT|URGENT|WARNING)\b[!.:\s]{1,6}(?:[A-Z'’]{2,}[\s,!.:]+){1,10}?(?:IGNORE|DISREGARD|FORGET|DO\s+NOT|DON'T|YOU\s+MUST|INSTEAD|IMMEDIATELY|NOW)\b/g;

/** Prompt leaks: asking the model for what it was told to keep — the password, the secret, its prompt. */
const LEAK_NEEDLES = ['password', 'passcode', 'passphrase', 'access code', 'secret', 'key', 'pin', 'codeword', 'code word', 'prompt', 'instructions'];
const LEAK =
  /\b(?:reveal|tell\s+me|give\s+me|show\s+me|share|print|output|write(?:\s+out|\s+down)?|spell(?:\s+out)?|say|repeat|disclose|leak|what\s+(?:is|was|are|were)|what's|whats|provide|list|translate|encode|convert|remind\s+me(?:\s+of)?)\b[^.?!\n]{0,40}?\b(?:the|your|this|that|my)\s+(?:(?:secret|hidden|confidential|protected|private|access|original|initial|system|exact|full)\s+){0,2}(?:password|passcode|passphrase|access\s+code|secret(?:\s+(?:key|word|code|phrase|number|value))?|key|pin|code\s*word|prompt|instructions)\b/gi;
/** The hidden context referred to as the model's: "you were told", "your instructions", "the word you protect". */
const OWN_CONTEXT =
  /\byou\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|instructed|asked|programmed|provided)|\byou\s+(?:know|keep|hold|protect|guard|store|have)\b|\byour\s+(?:instructions|prompt|rules|system|guidelines|programming|configuration|context|memory)|\b(?:do\s+not|don't|never)\s+(?:reveal|share|disclose)|\b(?:above|previous|earlier|initial)\s+(?:text|message|prompt|instructions)/i;
/** Framing used to get around a model's rules: pretend, imagine, play a game, hypothetically. */
const FRAME =
  /\b(?:pretend\s+(?:that\s+)?(?:you\s+(?:are|were|have|can)|to\s+be)|imagine\s+(?:that\s+)?you\s+(?:are|were|have|can)|let'?s\s+play\s+a\s+game|role-?play\s+as|act\s+as\s+(?:if\s+you|an?\s+(?:unrestricted|unfiltered|evil|ai\s+without))|hypothetically(?:\s+speaking)?,?\s+(?:if\s+)?you|in\s+a\s+(?:fictional|hypothetical|imaginary)\s+(?:world|scenario|story|universe)|for\s+(?:educational|research|testing)\s+purposes\s+only,?\s+(?:please\s+)?(?:tell|give|reveal|show|write))/gi;

/* ---------------------------------------------------------------- other languages */

const IGNORE_VERBS = [
  // es, pt, it, fr, de, nl
  'ignora', 'ignore', 'ignorar', 'ignorez', 'ignori', 'olvida', 'olvide', 'olvidar', 'haz caso omiso', 'omite', 'descarta', 'esqueça', 'esqueca', 'esquece', 'desconsidere', 'desconsidera',
  'dimentica', 'dimentichi', 'dimenticare', 'trascura', 'oublie', 'oubliez', 'oublier', 'ne tiens pas compte', 'ne tenez pas compte', 'fais abstraction', 'faites abstraction',
  'ignoriere', 'ignorieren', 'ignoriert', 'vergiss', 'vergessen', 'vergesst', 'missachte', 'missachten', 'negeer', 'vergeet',
  // ru, ar, hi, tr, vi, id
  'игнорируй', 'игнорируйте', 'игнорировать', 'проигнорируй', 'забудь', 'забудьте', 'не обращай внимания', 'пренебреги',
  'تجاهل', 'انس', 'إنس', 'لا تتبع', 'अनदेखा', 'अनदेखी', 'भूल जाओ', 'भूल जाएं', 'भूल जाइए', 'भूल जाएँ', 'नज़रअंदाज़', 'नजरअंदाज', 'उपेक्षा',
  'yok say', 'görmezden gel', 'unut', 'bỏ qua', 'quên', 'phớt lờ', 'abaikan', 'lupakan',
  // ja, zh, ko
  '無視', '忘れ', 'わすれて', 'むしして', '忽略', '无视', '忘记', '忘掉', '不要理会', '忘記', '무시', '잊어', '잊으', '잊고',
];
const INSTRUCTION_NOUNS = [
  'instrucciones', 'instrucción', 'indicaciones', 'reglas', 'órdenes', 'directrices', 'instruções', 'instrucoes', 'regras', 'orientações', 'diretrizes', 'comandos',
  'istruzioni', 'regole', 'direttive', 'consignes', 'règles', 'directives', 'anweisungen', 'anweisung', 'instruktionen', 'regeln', 'vorgaben', 'befehle', 'richtlinien', 'instructies', 'regels',
  'инструкции', 'инструкций', 'инструкциям', 'указания', 'указаний', 'правила', 'правил',
  'التعليمات', 'تعليمات', 'الأوامر', 'القواعد', 'التوجيهات', 'निर्देश', 'निर्देशों', 'नियमों', 'आदेश',
  'talimat', 'kuralları', 'hướng dẫn', 'chỉ dẫn', 'quy tắc', 'instruksi', 'petunjuk', 'aturan', 'perintah',
  '指示', '命令', 'ルール', '指令', 'しじ', 'めいれい', 'プロンプト', '说明', '規則', '规则', '提示', '设定', '設定', '지시', '지침', '명령', '규칙', '프롬프트',
  'instructions', 'prompt',
];
const REVEAL_VERBS = [
  'revela', 'revele', 'révèle', 'révélez', 'dime', 'dis-moi', 'donne-moi', 'verrate', 'nenne', 'sag mir', 'rivela', 'dimmi', 'diga-me', 'me diga', 'раскрой', 'скажи', 'назови', 'покажи',
  'اكشف', 'أخبرني', 'बताओ', 'बताइए', 'बताएं', 'बताएँ', '教えて', 'おしえて', '告诉', '告訴', '透露', '알려', '말해', 'söyle', 'cho tôi biết', 'beritahu',
];
const SECRET_NOUNS = [
  'contraseña', 'clave secreta', 'mot de passe', 'clé secrète', 'passwort', 'kennwort', 'geheimen schlüssel', 'senha', 'chave secreta', 'chiave segreta', 'пароль', 'секретный ключ',
  'كلمة المرور', 'المفتاح السري', 'पासवर्ड', 'गुप्त कुंजी', 'パスワード', '秘密鍵', '秘密のキー', '密码', '密碼', '密钥', '비밀번호', '비밀 키', 'şifre', 'gizli anahtar', 'mật khẩu', 'khóa bí mật', 'kata sandi', 'kunci rahasia',
  'system prompt', 'システムプロンプト', '系统提示', '系統提示', '시스템 프롬프트', 'prompt del sistema', 'prompt système', 'systemprompt',
];

/** One pass finds every multilingual needle: rule 0 ignore-verbs, 1 instruction nouns, 2 reveal-verbs, 3 secret nouns. */
const PAIRS = new Triggers([IGNORE_VERBS, INSTRUCTION_NOUNS, REVEAL_VERBS, SECRET_NOUNS]);
const PAIR_WORDS = ['ignora', 'ignorez', 'ignoriere', 'ignorar', 'ignorer', 'ignorieren', 'olvid', 'oubli', 'vergiss', 'vergessen', 'negeer', 'vergeet', 'dimentic', 'esquec', 'desconsider', 'omite', 'descarta', 'trascura', 'missacht', 'istruzioni', 'instrucciones', 'anweisung', 'consignes', 'regole', 'reglas', 'regeln', 'abaikan', 'lupakan', 'yok say', 'unut', 'revela', 'verrate', 'nenne', 'dimmi', 'dime', 'passwort', 'contrase', 'senha', 'mot de passe'];
// Script ranges include combining marks on purpose: any character of the script lets the pairs run.
// eslint-disable-next-line no-misleading-character-class
const PAIR_NEEDLE_PREFILTER = new RegExp(`[\\u00c0-\\u024f\\u0400-\\u04ff\\u0600-\\u06ff\\u0900-\\u097f\\u3040-\\u30ff\\u4e00-\\u9fff\\uac00-\\ud7af]|\\b(?:${PAIR_WORDS.join('|')})`);
/** PAIR_WORDS read from the shared keyword pass (triggers.ts); the script ranges cannot occur in ASCII text. */
const pairWords = sharedWordGate(PAIR_WORDS);

/** PAIR_NEEDLE_PREFILTER.test(lower), mostly without running it: the same answer (test/guards/scan-shared-pass.property.test.ts). */
export function mayHavePairs(lower: string, aligned: boolean): boolean {
  if (!isAscii(lower)) return PAIR_NEEDLE_PREFILTER.test(lower);
  return pairWords(lower, aligned) ?? PAIR_NEEDLE_PREFILTER.test(lower);
}

function positions(hits: RuleHits, lower: string, needles: readonly string[]): number[] {
  if (hits === undefined) return [];
  if (hits !== 'all') return hits;
  const at: number[] = [];
  for (const n of needles) for (let i = lower.indexOf(n); i !== -1 && at.length < 64; i = lower.indexOf(n, i + 1)) at.push(i);
  return at;
}

const INFINITIVES = new Set(['ignorar', 'ignorare', 'ignorieren', 'ignorer', 'olvidar', 'dimenticare', 'oublier', 'игнорировать', 'vergessen']);
const ENGLISH = new Set(['ignore', 'instructions', 'prompt', 'system prompt']);
/**
 * Japanese and Korean verbs inflect: an order ends in 無視して(ください) / 無視しろ, 잊어(라) /
 * 무시해; a description ("the attacker makes it ignore … and …") in 無視し、/ 無視する /
 * 忘れさせ, 무시하고 / 무시하도록. What follows the stem says which.
 */
const NOT_IMPERATIVE: Record<string, RegExp> = {
  無視: /^(?:し[、,。]|する(?!こと)|した|され|させ|を)/,
  忘れ: /^(?:る(?!こと)|た|られ|させ)/,
  무시: /^(?:하고|하는|한\s|했|하도록|하게|되)/,
  잊어: /^(?:버리게|서)/,
  잊고: /^/,
};

/** The longest needle of `needles` at position `at`. */
function verbAt(lower: string, at: number, needles: readonly string[]): string {
  let best = '';
  for (const n of needles) if (n.length > best.length && lower.startsWith(n, at)) best = n;
  return best;
}

function nearPairs(ctx: DetectorContext): void {
  const { lower } = ctx;
  if (!mayHavePairs(lower, lower.length === ctx.text.length)) return;
  const hits = PAIRS.scan(lower, lower.length === ctx.text.length);
  const pair = (v: number, n: number, verbs: readonly string[], nouns: readonly string[], score: number, label: string): void => {
    const vs = positions(hits[v], lower, verbs);
    const ns = positions(hits[n], lower, nouns);
    for (const i of vs) {
      // The noun nearest the verb (a text may name "the prompt" first and quote the order later).
      let best = -1;
      for (const j of ns) {
        // English words that are also French/Portuguese/Spanish: an all-English pair is override.ts's business.
        if (ENGLISH.has(verbAt(lower, i, verbs)) && ENGLISH.has(verbAt(lower, j, nouns))) continue;
        if (Math.abs(i - j) <= 40 && (best === -1 || Math.abs(i - j) < Math.abs(i - best))) best = j;
      }
      if (best === -1) continue;
      const j = best;
      // An infinitive ("… anweist, die Prompts zu ignorieren", "ordinandogli di ignorare") reports an order; an imperative gives one.
      const verb = verbAt(lower, i, verbs);
      const reported = INFINITIVES.has(verb) || NOT_IMPERATIVE[verb]?.test(lower.slice(i + verb.length, i + verb.length + 4)) === true;
      // Reported at the verb: where the order is given, and what a quotation around it must enclose.
      ctx.add('instruction_override', reported ? Math.min(score, 0.45) : score, `${label}${reported ? REPORTED_FORM : ''} ${quote(ctx.text.slice(Math.min(i, j), Math.max(i, j) + 12), 50)}`, i);
      return;
    }
  };
  pair(0, 1, IGNORE_VERBS, INSTRUCTION_NOUNS, 0.8, 'ignore the instructions (multilingual)');
  pair(2, 3, REVEAL_VERBS, SECRET_NOUNS, 0.55, 'reveal a secret (multilingual)');
}

/* ---------------------------------------------------------------- misspellings */

const KEYWORDS = ['instructions', 'instruction', 'previous', 'ignore', 'disregard', 'forget', 'guidelines', 'directives', 'password', 'system'];

const ROWS = [new Int32Array(18), new Int32Array(18), new Int32Array(18)];

/** Damerau–Levenshtein (optimal string alignment) distance of two words of ≤ 16 letters, stopping early past `max`. */
export function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let [twoBack, prev, cur] = ROWS as [Int32Array, Int32Array, Int32Array];
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) v = Math.min(v, twoBack[j - 2]! + 1);
      cur[j] = v;
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    [twoBack, prev, cur] = [prev, cur, twoBack];
  }
  return prev[b.length]!;
}

/** True when `w` is `k`'s stem with an English suffix ("instructing" for "instructions"). */
function inflection(w: string, k: string): boolean {
  const m = /(?:ing|ed|or|ors|ive|ively|ly|s|er|ers)$/.exec(w);
  return !!m && m.index >= 4 && k.startsWith(w.slice(0, m.index));
}

const KEYS = KEYWORDS.map((word) => ({ word, counts: letterCounts(word), c0: word.charCodeAt(0), c1: word.charCodeAt(1), end2: word.slice(-2), end3: word.slice(-3), max: word.length >= 8 ? 2 : 1 }));
const MIN_WORD = 5;
const MAX_WORD = 16;
const mayBeMisspelling = misspellingFilter(KEYWORDS);

/** The keyword the word `lower[start, end)` is a misspelling of, if any. */
function correctionOf(lower: string, start: number, end: number): string | undefined {
  if (!mayBeMisspelling(lower, start, end)) return undefined; // most words: no keyword passes the test below
  const length = end - start;
  const c0 = lower.charCodeAt(start);
  const c1 = lower.charCodeAt(start + 1);
  let w: string | undefined;
  for (const k of KEYS) {
    if (Math.abs(length - k.word.length) > 2) continue;
    // A typo keeps the start or the end of the word: "iunstructions", "prevoius", "ingore".
    if (!(c0 === k.c0 && (c1 === k.c1 || lower.endsWith(k.end2, end))) && !lower.endsWith(k.end3, end)) continue;
    w ??= lower.slice(start, end);
    if (w === k.word) continue;
    if (inflection(w, k.word)) return undefined; // "instructing", "previously", "ignored": real words, not typos
    if (letterBound(lower, start, end, k.counts) > k.max) continue; // too many letters differ: the distance is larger
    const d = distance(w, k.word, k.max);
    if (d <= k.max && !(w.length > k.word.length && w.startsWith(k.word))) return k.word;
  }
  return undefined;
}

/** a–z, one comparison (one char code read per character of the walk below). */
const isAz = (c: number): boolean => (c - 0x61) >>> 0 < 26;

function correctMisspellings(ctx: DetectorContext): void {
  if (ctx.depth > 0) return;
  // Typos hide short orders: the first 4 KiB and the last 1 KiB are read (a cost cap for long texts).
  const lower = ctx.lower.length > 5120 ? `${ctx.lower.slice(0, 4096)}\n\n.\n\n${ctx.lower.slice(-1024)}` : ctx.lower;
  // Words are what /[a-z]{5,16}/g matches (a longer run of letters is read in pieces of 16), walked
  // by char code; a copy is built only when a word is corrected.
  let corrected = '';
  let copied = 0;
  let first = -1;
  let words = 0;
  const n = lower.length;
  for (let i = 0; i < n && words < 4000; ) {
    if (!isAz(lower.charCodeAt(i))) {
      i++;
      continue;
    }
    let runEnd = i + 1;
    while (runEnd < n && isAz(lower.charCodeAt(runEnd))) runEnd++;
    for (let start = i; runEnd - start >= MIN_WORD && words < 4000; ) {
      const end = Math.min(runEnd, start + MAX_WORD);
      words++;
      const fix = correctionOf(lower, start, end);
      if (fix !== undefined) {
        if (first === -1) first = start;
        corrected += lower.slice(copied, start) + fix;
        copied = end;
      }
      start = end;
    }
    i = runEnd + 1; // lower[runEnd] is not a–z (or is past the end)
  }
  if (first === -1) return;
  corrected += lower.slice(copied);
  for (const f of ctx.rescan(corrected)) {
    if (f.kind === 'instruction_override' || f.kind === 'addressed_instruction') ctx.add(f.kind, f.score * 0.9, `${f.detail} (misspelled)`, first);
  }
}

/* ---------------------------------------------------------------- detector */

/**
 * Runs `re` only in windows around the needles' positions (BEFORE characters before, AFTER
 * after), merged, so a rule costs time in proportion to its keyword hits, not to the text.
 */
function eachMatchAround(ctx: DetectorContext, hits: RuleHits, re: RegExp, onMatch: (m: RegExpExecArray) => void, limit: number, before = 160, after = 200): void {
  if (hits === undefined) return;
  if (hits === 'all') return eachMatch(re, ctx.text, onMatch, limit);
  const { text } = ctx;
  let n = 0;
  let k = 0;
  while (k < hits.length && n < limit) {
    const start = Math.max(0, hits[k]! - before);
    let end = Math.min(text.length, hits[k]! + after);
    while (k + 1 < hits.length && hits[k + 1]! - before <= end) end = Math.min(text.length, hits[++k]! + after);
    k++;
    // Start at a word boundary so \b keeps its meaning.
    let from = start;
    while (from > 0 && from > start - 40 && text.charCodeAt(from - 1) > 0x20) from--;
    eachMatch(re, text.slice(from, end), (m) => {
      m.index += from;
      onMatch(m);
      n++;
    }, limit - n);
  }
}

const FRAME_NEEDLES = ['pretend', 'imagine', 'game', 'play', 'act as', 'hypothetical', 'fictional', 'imaginary', 'purposes only'];
const HIJACK_ALL = [...HIJACK_NEEDLES, 'ignor', 'disregard', 'forget'];
/** One pass over the text finds every rule's needles (rules: address, hijack, marker, todo, leak, frame). */
const needles = sharedTriggers([ADDRESS_NEEDLES, HIJACK_ALL, MARKER_NEEDLES, ['todo'], LEAK_NEEDLES, FRAME_NEEDLES]);

export const detectAddressed: Detector = (ctx) => {
  const { text, lower } = ctx;
  const [address, hijack, marker, todo, leak, frame] = needles(lower, lower.length === text.length);
  eachMatchAround(ctx, address, ADDRESS, (m) => {
    const around = text.slice(m.index, m.index + m[0].length + 300);
    ctx.add('addressed_instruction', hasStrongCue(around) || /\b(?:please|do\s+the\s+following|you\s+(?:must|should|need))\b/i.test(around) ? 0.7 : 0.4, `addressed to the model ${quote(m[0])}`, m.index);
  }, 8);
  eachMatchAround(ctx, hijack, HIJACK, (m) => ctx.add('addressed_instruction', 0.7, `task hijack ${quote(m[0])}`, m.index), 8);
  eachMatchAround(ctx, marker, MARKER, (m) => {
    const after = text.slice(m.index, m.index + m[0].length + 300);
    ctx.add('addressed_instruction', hasStrongCue(after) || IMPERATIVE.test(after) ? 0.7 : 0.35, `fake system marker ${quote(m[0])}`, m.index);
  }, 8);
  eachMatchAround(ctx, todo, TODO, (m) => ctx.add('addressed_instruction', 0.6, `TODO addressed to the model ${quote(m[0])}`, m.index), 8);
  eachMatchAround(ctx, leak, LEAK, (m) => {
    const around = text.slice(Math.max(0, m.index - 200), m.index + m[0].length + 200);
    ctx.add('instruction_override', OWN_CONTEXT.test(around) ? 0.65 : 0.4, `asks for a secret or the prompt ${quote(m[0])}`, m.index);
  }, 8);
  eachMatchAround(ctx, frame, FRAME, (m) => ctx.add('addressed_instruction', 0.35, `role-play framing ${quote(m[0])}`, m.index), 4);
  if (/\b(?:STOP|HALT|ATTENTION|IMPORTANT|URGENT|WARNING)\b/.test(text)) eachMatch(SHOUT, text, (m) => ctx.add('addressed_instruction', 0.6, `shouted order ${quote(m[0])}`, m.index), 4);
  // Non-ASCII text, or Latin-script languages: the multilingual pairs.
  nearPairs(ctx);
  correctMisspellings(ctx);
};
