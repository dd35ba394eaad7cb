/**
 * instruction_override: text that tries to replace the instructions a model follows —
 * "ignore all previous instructions", "you are now DAN", "new instructions:", "reveal your
 * system prompt", "do not tell the user", notes addressed to the AI reading a page, and
 * "ignore previous instructions" in German, Spanish, French, Italian, Portuguese, Dutch,
 * Russian, Chinese, Japanese and Korean.
 *
 * Each rule is one regex gated by cheap substring needles on the lowercased text, so a text
 * with none of the keywords costs a few `includes` calls. Quantifiers are bounded and every
 * repeated group consumes a word and its separator, so matching is linear in the text.
 *
 * Quoted mentions in texts about attacks are damped in scan.ts (see mention.ts).
 */
import { eachMatchAt, eachMatchNear, readsWholeText, type Detector } from './context.js';
import { quote } from './text-utils.js';
import { sharedTriggers } from './triggers.js';

interface Rule {
  needles: readonly string[];
  re: RegExp;
  label: string;
  /** Score for a match; 0 drops it. */
  /** How far before a needle a match can start (default 120 characters). */
  before?: number;
  /**
   * Where a match starts relative to a needle hit, when that is fixed (verb-initial rules):
   * the regex is then tried only there (see eachMatchAt). Must cover every needle.
   */
  anchors?: readonly number[];
  /** Score for a match, given the text right after it; 0 drops it. */
  score: number | ((m: RegExpExecArray, after: string) => number);
  /**
   * A necessary condition, tested on the lowercased text before `re` reads the whole of it: every
   * match of `re` holds one of the gate's substrings (test/guards/scan-gates.property.test.ts),
   * so where the gate finds none, `re` would find nothing. A greeting ("Hi Bob,") or a "note"
   * triggers the addressed-to-the-AI rule, whose regex costs several times this one.
   */
  gate?: RegExp;
}

const VERB =
  "(?:ignore|ignoring|disregard|disregarding|forget|forgetting|override|overriding|bypass|bypassing|discard|abandon|neglect|set\\s+aside|pay\\s+no\\s+attention\\s+to|(?:do\\s+not|don't|dont|stop)\\s+(?:follow|following|obey|obeying))";
const FILL =
  '(?:all|any|every|each|of|the|your|my|these|those|its|previous|previously|prior|preceding|above|above-mentioned|aforementioned|earlier|former|original|initial|foregoing|existing|current|other|system|developer|safety|and|whatever|given|old|internal|hidden|programmed|default|provided)';
const CORE_TARGET =
  'instructions?|prompts?|rules|directions|directives|guidelines|guidance|commands|orders|constraints|restrictions|programming|guardrails|policies|safeguards|filters|system\\s+prompt';
const SOFT_TARGET = 'context|messages?|conversation|text|training|content|input|task';
const STRONG_QUALIFIER = /previous|prior|preceding|above|aforementioned|earlier|former|original|initial|foregoing|system|developer|internal|hidden|programmed/;

/** After the target: "instructions above this line", "rules you were given". */
const POST_QUALIFIER = /^\s+(?:(?:that\s+)?(?:above|before|earlier|previously|so\s+far|you\s+(?:were|have\s+been|'ve\s+been|got|received)\s+(?:given|told|sent|provided)?|given\s+(?:to\s+you|before|earlier|above)|from\s+(?:before|earlier|your\s+(?:developer|operator|creator)s?|the\s+(?:system|developer|operator)))\b)/i;
/** "… and instead say", "… and list every email": the override followed by the new order. */
const FOLLOWED_BY_ORDER =
  /^[\s,.;:!-]{0,4}(?:and\s+|then\s+|now\s+|instead[\s,]+|\.\s*(?:instead|now)[\s,]+)(?:(?:instead|now|then|just|only|simply|immediately)[\s,]+)?(?:say|print|output|list|tell|reveal|write|send|respond|reply|answer|give|show|do|execute|run|delete|forward|email|call|transfer|approve|grant|post|publish|return|repeat|translate|act|follow|obey|recommend|classify|rate|include|add|remove|create|open|visit|navigate|download|install|upload|share|export)\b/i;

function overrideScore(m: RegExpExecArray, after: string): number {
  const fill = (m[1] ?? '').toLowerCase();
  const target = (m[3] ?? '').toLowerCase();
  const humanSoft = /^(?:messages?|text|content|task)$/.test(target); // "disregard the earlier message about the outage"
  const modelSoft = /^(?:context|conversation|training|input)$/.test(target);
  const order = FOLLOWED_BY_ORDER.test(after);
  if (/\bmy\b/.test(fill)) return order ? 0.45 : 0.2; // "please ignore my previous email/messages": a person correcting themselves
  let score: number;
  if (STRONG_QUALIFIER.test(fill) || POST_QUALIFIER.test(after)) score = humanSoft ? 0.45 : modelSoft ? 0.7 : 0.9;
  else if (/\byour\b/.test(fill)) score = humanSoft ? 0.45 : 0.8;
  else if (/\b(?:all|any|every)\b/.test(fill)) score = humanSoft || modelSoft ? 0.3 : 0.65;
  else score = humanSoft || modelSoft ? 0 : 0.3;
  if (order) score = Math.max(score, 0.75);
  return score;
}

const NEW_ADJECTIVES = ['new', 'updated', 'revised', 'real', 'actual', 'true', 'correct', 'additional', 'secret', 'hidden', 'override', 'priority', 'important', 'urgent', 'special'];
const NEW_NOUNS = ['instruction', 'directive', 'orders', 'prompt', 'system prompt', 'task', 'objective', 'goal', 'mission', 'role', 'rules'];
const NEW_INSTRUCTION_NEEDLES = NEW_ADJECTIVES.flatMap((a) => NEW_NOUNS.flatMap((n) => [`${a} ${n}`, `${a} system ${n}`, `${a}\n${n}`]));

/**
 * Text addressed to the AI reading it: "note to the AI:", "dear assistant", "if you are an LLM",
 * "when the AI reads this page". The look-behind for a sentence start ("… . To the AI:") sits
 * after "to", where it is tried only when "to" is there; written before it, it was tried at
 * every position of the text (the regex ran 2.3× as long over a sentence, measured).
 */
export const ADDRESSED_TO_AI =
  /(?:(?:\b(?:attention|note|message|instructions?|important|notice|reminder|memo|directive|p\.?s\.?)|to(?<=(?:^|[\n.!?>:*#\]])\s{0,3}to))\s*(?:to|for)?\s*(?:all\s+|the\s+|any\s+)?(?:ai|llm|a\.i\.|gpt|chatgpt|claude|gemini|copilot|chatbot|language\s+model|ai\s+(?:assistants?|agents?|models?|systems?|notetakers?|screeners?|reviewers?)|automated\s+(?:assistant|agent|system)|assistant)s?(?:\s+[\w-]+){0,3}\s*[:,!-]|\b(?:dear|hey|hi|hello)\s+(?:ai|llm|chatgpt|claude|gemini|copilot|gpt|language\s+model|ai\s+(?:assistant|agent|model))\b(?!\s+(?:enthusiasts|community|researchers|fans|team|friends|experts|developers|engineers|practitioners|lovers|folks|people|group|club|users|newsletter|readers)\b)|\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|chatbot|gpt|ai\s+(?:assistant|agent|model)|automated\s+(?:agent|assistant|system)|assistant)\b|\b(?:when|if|as|once)\s+(?:you|the\s+(?:ai|assistant|agent|model|llm|bot))\s+(?:reads?|process(?:es)?|summari[sz]es?|parses?|sees?|analy[sz]es?|encounters?)\s+this\s+(?:page|email|e-mail|message|document|text|file|content|review|comment|issue|note|mailbox|inbox|thread|site|repo(?:sitory)?|article|post|ticket|pdf|data|result)\b|\b(?:ai|assistant|agent|model|llm|bot|notetaker)s?\s+(?:reading|processing|summari[sz]ing|parsing|handling|analy[sz]ing)\s+this\s+(?:page|email|e-mail|message|document|text|file|content|review|comment|issue|note|mailbox|inbox|thread|site|repo(?:sitory)?)\b)/gi;
/** The gate of the addressed-to-the-AI rule: a substring every one of its matches holds (lowercased). */
export const ADDRESSED_TO_AI_GATE = /ai|llm|a\.i\.|gpt|claude|gemini|copilot|chatbot|language|automated|assistant|this/;

const RULES: readonly Rule[] = [
  {
    needles: ['ignor', 'disregard', 'forget', 'overrid', 'bypass', 'discard', 'abandon', 'neglect', 'set aside', 'no attention', 'not follow', "n't follow", 'dont follow', 'stop follow', 'not obey', "n't obey", 'dont obey', 'stop obey'],
    re: new RegExp(`\\b${VERB}\\s+((?:${FILL}[\\s,]+){0,5})([a-zA-Z\\u00C0-\\u024F-]{3,20}\\s+)?(${CORE_TARGET}|${SOFT_TARGET})\\b`, 'gi'),
    label: 'instruction override',
    score: overrideScore,
    anchors: [0, -3, -4],
  },
  {
    needles: ['ignor', 'disregard', 'forget'],
    re: /\b(?:ignore|disregard|forget)\s+(?:everything|anything|all(?:\s+of)?\s+(?:that|this|it))\s+(?:(?:above|before|prior|previously|so\s+far|written\s+above|said\s+before)|(?:that\s+)?(?:you\s+(?:were|have\s+been|'ve\s+been)|i\s+(?:have\s+)?)\s*(?:told|said|instructed|given|asked))/gi,
    label: 'instruction override',
    score: 0.85,
    anchors: [0],
  },
  {
    needles: ['ignor', 'disregard'],
    re: /\b(?:ignore|disregard)\s+the\s+(?:above|previous|preceding|foregoing)\b(?!\s+(?:error|warning|message|email|mail|link|comment|output|log|line|step|section|paragraph|question|typo))/gi,
    label: 'instruction override',
    score: (_m, after) => (FOLLOWED_BY_ORDER.test(after) ? 0.75 : 0.45),
    anchors: [0],
  },
  {
    needles: ['you are now', "you're now", 'from now on', 'you will now', 'you are no longer', "you're no longer"],
    re: /\b(?:(?:you\s+are|you're)\s+(?:now|no\s+longer)|from\s+now\s+on,?\s+(?:you(?:'re|\s+are|\s+will|\s+must|\s+shall|\s+should)?|your|act|respond|answer|always|only|ignore|reply)|you\s+will\s+now\s+(?:act|be|respond|behave|pretend|answer|follow|obey))\s*([^.\n!?]{0,60})/gi,
    label: 'role reassignment',
    anchors: [0],
    score: (m) => {
      const rest = (m[1] ?? '').toLowerCase();
      const head = m[0].toLowerCase();
      if (/\b(?:dan|unrestricted|unfiltered|uncensored|jailbroken|jailbreak|evil|free\s+(?:from|of)|developer\s+mode|god\s+mode|admin(?:istrator)?\s+mode|debug\s+mode|no\s+(?:rules|restrictions|limits|filters|guidelines)|not\s+bound|bound\s+by|restricted|limited\s+by|an?\s+(?:ai|assistant|model|chatbot)\s+(?:with(?:out)?|that)|a\s+different|a\s+new\s+(?:ai|assistant|persona|model)|my\s+(?:assistant|agent|servant|slave))/.test(rest))
        return 0.85;
      if (/no\s+longer/.test(head)) return /\b(?:an?\s+(?:ai|assistant|chatbot|language\s+model)|chatgpt|claude|bound|required|restricted|limited|obliged)\b/.test(rest) ? 0.8 : 0.15;
      if (/from\s+now\s+on/.test(head)) return /\b(?:ignore|act|respond|answer|reply|always|only|your\s+(?:new|only|sole|real)|are\s+(?:an?|my|the)\b|will\s+(?:act|respond|answer|obey|follow|ignore)|must)\b/.test(head + rest) ? 0.6 : 0.2;
      if (/you\s+will\s+now/.test(head)) return 0.55;
      // "you are now …": logged in / subscribed / connected are everyday; a persona is not.
      if (/^(?:logged|signed|subscribed|unsubscribed|connected|registered|enrolled|eligible|able|ready|on\s+the|in\s+the\s+queue|part\s+of|a\s+member|an?\s+(?:admin|owner|editor|member|subscriber|collaborator|maintainer|moderator)\s+(?:of|on|for|in)|following|being|leaving|entering|viewing|using|set|all\s+set|free\s+to|up\s+to\s+date|verified|approved|opted)/.test(rest.trim()))
        return 0;
      if (/^(?:an?\s+|the\s+|my\s+|in\s+)/.test(rest.trim())) return 0.6;
      return 0.35;
    },
  },
  {
    needles: NEW_INSTRUCTION_NEEDLES,
    re: /(?:^|[\n.!>*#\],:;]\s*|\b(?:your|the)\s+)(?:new|updated|revised|real|actual|true|correct|additional|secret|hidden|override|priority|important|urgent|special)\s+(?:system\s+)?(?:instructions?|directives?|orders|prompt|system\s+prompt|task|objective|goal|mission|role|rules)\s*(?::|\bis\b|\bare\b|=|-{1,2}\s)/gim,
    label: 'new instructions',
    score: (m) => (/\b(?:your|real|actual|true|secret|hidden|override)\b/i.test(m[0]) ? 0.75 : 0.55),
  },
  {
    needles: ['system prompt', 'system message', 'system instructions', 'initial prompt', 'initial instructions', 'hidden prompt', 'hidden instructions', 'developer message', 'developer instructions', 'developer prompt', 'original prompt', 'original instructions', 'instructions above', 'instructions you were given', 'prompt above', 'preprompt', 'pre-prompt'],
    re: /\b(?:print|reveal|show|output|repeat|leak|display|dump|disclose|recite|write\s+out|tell\s+me|give\s+me|what\s+(?:is|are|was|were))\s+(?:me\s+)?(?:back\s+)?(?:all\s+)?(?:of\s+)?(?:your|the)\s+(?:full\s+|entire\s+|complete\s+|exact\s+|hidden\s+|secret\s+|original\s+|initial\s+|verbatim\s+|confidential\s+){0,3}(?:system\s+(?:prompt|message|instructions)|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)|developer\s+(?:message|instructions|prompt)|original\s+(?:prompt|instructions)|instructions\s+(?:above|you\s+were\s+given)|prompt\s+above|pre-?prompt)/gi,
    label: 'system prompt extraction',
    score: 0.7,
  },
  {
    needles: ['do not', "don't", 'dont', 'never', 'without'],
    re: /\b(?:(?:do\s+not|don't|dont|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|notify(?:ing)?|alert(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|let(?:ting)?|warn(?:ing)?|ask(?:ing)?)\s+(?:(?:this|it|anything)\s+)?(?:(?:to|with)\s+)?(?:the\s+|your\s+|any\s+)?(?:[a-z]+\s+)?(?:user|human|owner|operator|customer|recipient|team|anyone|admins?|administrators?|manager|boss|staff|security|them|him|her)\b(?:\s+(?:know|about|that|of|for\s+(?:permission|confirmation)))?|without\s+(?:the\s+)?(?:user|human|owner)(?:'s)?\s+(?:knowledge|knowing|noticing)|(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose|acknowledge|reference)\s+(?:these|this|the(?:se)?)\s+(?:instructions?|message|note|text|request|step))/gi,
    label: 'concealment from the user',
    anchors: [0],
    score: 0.6,
  },
  {
    needles: ['silently', 'quietly', 'secretly', 'covertly', 'discreetly', 'in the background'],
    re: /\b(?:silently|quietly|secretly|covertly|discreetly|in\s+the\s+background,?)\s+(?:(?:and|then|also|immediately)\s+)?(?:send|forward|email|post|upload|transfer|copy|export|exfiltrate|delete|remove|run|execute|call|invoke|add|grant|change|share|include|append|fetch|visit|open|create|make|approve|pay|wire)\b/gi,
    label: 'covert action',
    anchors: [0],
    score: 0.6,
  },
  {
    needles: ['attention', 'note', 'message', 'instruction', 'important', 'notice', 'reminder', 'memo', 'directive', 'p.s', 'to the ai', 'to the llm', 'to the language model', 'to the assistant', 'to the model', 'to all ai', 'to any ai', 'dear ', 'hey ', 'hi ', 'hello ', 'if you are', 'reading this', 'processing this', 'summarizing this', 'summarising this', 'parsing this', 'handling this', 'analyzing this', 'analysing this', 'read this', 'reads this', 'process this', 'processes this', 'summarize this', 'summarise this', 'summarizes this', 'parse this', 'see this', 'sees this', 'analyze this', 'encounter this'],
    re: ADDRESSED_TO_AI,
    label: 'text addressed to the AI',
    // Each alternative names the model (ai, llm, a.i., gpt, claude, … assistant) or says "this".
    gate: ADDRESSED_TO_AI_GATE,
    score: (m) => {
      const named = /\b(?:ai|llm|gpt|chatgpt|claude|gemini|copilot|chatbot|language\s+model|assistant|agent|model|bot|notetaker)\b/i;
      if (/^(?:when|if|as|once)\s+you\s+(?!are\b)/i.test(m[0])) return 0.45; // "when you read this email" may address a person
      if (/^(?:note|message|important|reminder|notice|p\.?s\.?)\b/i.test(m[0]) && !/\b(?:ai|llm|gpt|chatgpt|claude|gemini|copilot|chatbot|language\s+model)\b/i.test(m[0])) return 0.4;
      return named.test(m[0]) ? 0.6 : 0.4;
    },
  },
  {
    needles: ['developer mode', 'dev mode', 'god mode', 'jailbreak mode', 'jailbroken mode', 'dan mode', 'unrestricted mode', 'sudo mode', 'admin mode', 'administrator mode', 'debug mode', 'maintenance mode', 'unfiltered mode', 'do anything now', 'jailbr', 'dan prompt', 'dan jailbreak'],
    re: /\b(?:(?:enable|enter|activate|switch\s+to|turn\s+on|engage|unlock)\s+(?:the\s+)?(?:developer|dev|god|jailbreak|jailbroken|dan|unrestricted|sudo|admin(?:istrator)?|debug|maintenance|unfiltered)\s+mode|(?:developer|dev|god|jailbreak|dan|unrestricted|sudo)\s+mode\s+(?:enabled|activated|unlocked)|do\s+anything\s+now(?:\s+mode)?(?:\W{0,3}\s*(?:activated|enabled|on))?|\bDAN\s+(?:mode|prompt|jailbreak)|jailbr(?:eak|oken)\s+(?:mode|prompt|enabled|successful|activated))\b/gi,
    label: 'jailbreak mode',
    score: (m) => (/debug|maintenance|admin/i.test(m[0]) ? 0.45 : /^do\s+anything\s+now$/i.test(m[0]) ? 0.45 : 0.8),
  },
  {
    needles: ['bound by', 'restricted by', 'limited by', 'constrained by', 'governed by', 'pretend', 'act as', 'act like', 'behave as', 'behave like', 'respond as', 'respond like', 'roleplay', 'role-play', 'without any', 'without safety', 'without content', 'without ethical', 'without restrictions', 'without limitations', 'without filters', 'without censorship', 'without guardrails', 'without rules', 'without limits', 'with no', 'ignoring any', 'ignoring safety', 'ignoring content', 'ignoring ethical'],
    re: /\b(?:(?:not|no\s+longer|never)\s+(?:bound|restricted|limited|constrained|governed)\s+by\s+(?:any\s+|your\s+|the\s+)?(?:rules|restrictions|guidelines|policies|filters|ethics|openai|anthropic|content\s+polic(?:y|ies)|safety)|(?:pretend|act|behave|respond|roleplay|role-play)\s+(?:as\s+if\s+you\s+(?:are|were|have)|as|like|that\s+you\s+(?:are|have))\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|evil|amoral|unethical|rogue)|(?:without|with\s+no|ignoring)\s+(?:any\s+)?(?:safety\s+|content\s+|ethical\s+)(?:restrictions|limitations|filters|guidelines|guardrails)|\b(?:respond|answer|reply|act|operate|behave)\s+(?:\w+\s+){0,2}(?:without|with\s+no)\s+(?:any\s+)?(?:restrictions|limitations|filters|censorship|guardrails|rules|limits))/gi,
    label: 'restriction removal',
    score: 0.75,
  },
  {
    needles: ['supersede', 'precedence', 'overrul', 'overrid', 'replaces', 'cancels', 'outdated', 'obsolete', ' void', 'revoked', 'no longer valid', 'no longer apply'],
    re: /\b(?:(?:supersedes?|overrules?|overrides?|replaces?|takes?\s+precedence\s+over|cancels?)\s+(?:all\s+|any\s+)?(?:everything|anything|the|your|all|any)\s*(?:previous|prior|earlier|other|original|system|before|above)?\s*(?:instructions?|rules|prompts?|guidelines|directives|before\s+(?:it|this|them)|above)?|(?:previous|prior|earlier|original|system|your)\s+(?:instructions|rules|guidelines|directives|prompt)\s+(?:are|is)\s+(?:now\s+)?(?:outdated|obsolete|void|cancel+ed|revoked|no\s+longer\s+valid)|(?:instructions|rules|guidelines)\s+(?:you\s+(?:were\s+given|got|received)|from\s+(?:before|earlier))\s+no\s+longer\s+apply)/gi,
    label: 'instruction override',
    score: (m) => (/instructions?|rules|prompts?|guidelines|directives|everything|anything|before|above|outdated|obsolete|void|revoked|no\s+longer/i.test(m[0].replace(/^\S+\s+/, '')) ? 0.75 : 0),
  },
  {
    needles: ['decode', 'base64', 'rot13', 'reverse'],
    re: /\b(?:decode|decipher|translate|reverse|unscramble)\s+(?:this|the\s+following|the\s+(?:string|text|message|payload)\s+below|it)\b[^.\n]{0,40}?\b(?:and|then)\s+(?:follow|execute|run|obey|do|carry\s+out|perform|act\s+on)\b/gi,
    label: 'decode-and-follow',
    score: 0.75,
  },
  {
    needles: ['conversation', 'chat history', 'message history', 'system prompt', 'api key', 'api-key', 'api_key', 'apikey', 'credential', 'password', 'secret', 'token', 'cookie', 'env var', 'environment var', '.env', 'ssh key', 'private key', 'credit card', 'ssn', 'social security', 'emails', 'inbox', 'contacts', 'files', 'documents', 'customer data', 'customer record', 'customer list', 'database', 'personal data', 'pii'],
    re: /\b(?:send|forward|e-?mail|post|upload|transmit|exfiltrate|leak|share|copy|paste|include|append|attach)\s+(?:me\s+|us\s+)?(?:(?:all|every|each|the|your|his|her|their|this|these|any|of|user's|users'|customer's|full|entire|whole|complete|current|saved|stored|private|secret)\s+){0,4}(?:conversation|chat\s+history|message\s+history|system\s+prompt|api[\s_-]?keys?|credentials|passwords?|secrets?|tokens?|access\s+tokens?|session\s+(?:cookies?|tokens?)|cookies|env(?:ironment)?\s+variables|\.env(?:\s+file)?|ssh\s+keys?|private\s+keys?|credit\s+card(?:\s+(?:numbers?|details))?|ssn|social\s+security\s+numbers?|emails|inbox|contacts|files|documents|customer\s+(?:data|records|list)|database|personal\s+data|pii)\b((?:[^.\n]|\.(?=\S)){0,80})/gi,
    label: 'data exfiltration request',
    before: 80,
    score: (m) => {
      const head = m[0].slice(0, m[0].length - (m[1]?.length ?? 0)).toLowerCase();
      const tail = (m[1] ?? '').toLowerCase();
      const target = /\b(?:to|at|into)\s+(?:[\w.+-]+@[\w-]+\.[\w.-]+|https?:\/\/|[\w-]+\.(?:com|net|org|io|xyz|ru|tk|top|site|info|biz|me|co)\b|this\s+(?:url|address|endpoint|webhook|server)|the\s+(?:following|webhook|attacker|url|address|endpoint))/.test(tail);
      const bulk = /\b(?:all|every|entire|whole|complete|full)\b/.test(head);
      const secret = /system\s+prompt|api|credential|password|secret|token|cookie|env|ssh|private\s+key|credit\s+card|ssn|social\s+security/.test(head);
      if (target && (bulk || secret)) return 0.75;
      if (target) return 0.4;
      if (bulk && secret) return 0.45;
      return 0;
    },
  },
  // Other languages: "ignore (all) previous instructions", "forget your rules", "you are now".
  {
    needles: ['anweisungen', 'instruktionen', 'befehle', 'regeln', 'vorgaben', 'richtlinien', 'anordnungen', 'systemanweisung', 'systemprompt', 'neue aufgabe', 'ab sofort', 'du bist jetzt', 'du bist nun', 'sie sind jetzt', 'sie sind nun', 'sie sind ab', 'du bist ab'],
    before: 90,
    re: /(?:\b(?:ignorier(?:e|en|t)?|vergiss|vergessen|missachte(?:n)?|übergehe(?:n)?|beachte(?:n)?\s+(?:nicht|keine))\s+(?:(?:sie|du|alle|sämtliche|die|deine|ihre|bisherigen|vorherigen|vorigen|obigen|früheren|vorangegangenen|bisher|gegebenen|ursprünglichen|und|aller|jegliche)\s+){0,5}(?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen|prompts?|systemanweisungen|systemprompts?)|\bneue\s+(?:anweisungen|instruktionen|aufgabe)\s*:|\b(?:du\s+bist|sie\s+sind)\s+(?:jetzt|nun|ab\s+sofort)\s+(?:ein(?:e)?\s+)?(?:uneingeschränkte|unzensierte|freie|böse|neue|anderer?|hacker|dan)\b|\bab\s+sofort\s+(?:ignorierst|antwortest|bist|befolgst|gehorchst)\s+du)/gi,
    label: 'instruction override (German)',
    score: (m) => (/vorherig|vorig|obig|bisherig|früher|vorangegangen|alle|sämtlich|deine|ihre|ursprünglich|system|jegliche/i.test(m[0]) || !/ignor|vergiss|vergessen|missacht|übergeh|beachte/i.test(m[0]) ? 0.85 : 0.45),
  },
  {
    needles: ['instrucciones', 'indicaciones', 'órdenes', 'ordenes', 'reglas', 'directrices', 'normas', 'consignas', 'mensajes', 'a partir de ahora', 'desde ahora', 'ahora eres'],
    before: 90,
    re: /(?:\b(?:ignora|ignore|ignorad|ignoren|ignorar|olvida|olvide|olviden|olvidar|omite|omita|omitan|descarta|descarte|desobedece|haz\s+caso\s+omiso\s+(?:de|a)|hagan\s+caso\s+omiso\s+(?:de|a))\s+(?:(?:todas|todos|las|los|tus|sus|de|a|cualquier|cada|una|instrucción|previamente)\s+){0,4}(?:instrucciones|indicaciones|órdenes|ordenes|reglas|directrices|normas|consignas|mensajes)(\s+(?:anteriores|previas|precedentes|de\s+arriba|del\s+sistema|iniciales|originales|dadas))?|\bnuevas\s+instrucciones\s*:|\b(?:a\s+partir\s+de\s+ahora|desde\s+ahora),?\s+(?:eres|serás|seras|actuarás|actuaras|vas\s+a|debes|ignora|responde)|\bahora\s+eres\s+(?:un|una)\s+(?:ia|asistente|modelo|ai)?\s*(?:sin|libre|malvad|desbloquead)\w*)/gi,
    label: 'instruction override (Spanish)',
    score: (m) => (/anteriores|previas|precedentes|arriba|sistema|iniciales|originales|todas|todos|tus|sus|nuevas|partir|desde\s+ahora|ahora\s+eres/i.test(m[0]) ? 0.85 : 0.45),
  },
  {
    needles: ['consignes', 'directives', 'règles', 'regles', 'ordres', 'indications', 'instructions précédentes', 'instructions precedentes', 'instructions antérieures', 'instructions anterieures', 'instructions ci-dessus', 'instructions initiales', 'instructions originales', 'instructions du système', 'les instructions', 'vos instructions', 'tes instructions', 'des instructions', 'ces instructions', 'nouvelles instructions', 'messages précédents', 'maintenant', 'désormais', 'dorénavant', 'à présent'],
    before: 90,
    re: /(?:\b(?:ignore[rz]?|oublie[rz]?|négliger?|négligez|fais\s+abstraction\s+de|faites\s+abstraction\s+de|ne\s+(?:tiens|tenez)\s+pas\s+compte\s+(?:de|des))\s+(?:(?:toutes|tous|les|des|vos|tes|ces|de|d'|l'|la|le|toute|consignes|instructions)\s*){0,4}(?:instructions|consignes|directives|règles|regles|ordres|indications|messages|prompts?)(\s+(?:précédentes|precedentes|antérieures|anterieures|ci-dessus|initiales|originales|du\s+système|d'origine|reçues))?|\bnouvelles\s+(?:instructions|consignes)\s*:|\b(?:tu\s+es|vous\s+êtes|vous\s+etes)\s+(?:maintenant|désormais|dorénavant|à\s+présent)\s+(?:un|une)\s+(?:ia|assistant|modèle|ai)?\s*(?:sans|libre|malveillant|débridé)\w*|\b(?:désormais|dorénavant|à\s+partir\s+de\s+maintenant),?\s+(?:tu\s+(?:es|dois|vas|ignores|réponds)|vous\s+(?:êtes|devez|allez|ignorez|répondez)))/gi,
    label: 'instruction override (French)',
    score: (m) => (/précédentes|precedentes|antérieures|anterieures|ci-dessus|initiales|originales|système|origine|toutes|tous|vos|tes|nouvelles|désormais|dorénavant|maintenant|présent/i.test(m[0]) ? 0.85 : 0.45),
  },
  {
    needles: ['istruzioni', 'indicazioni', 'regole', 'direttive', 'ordini', 'consegne', 'instruções', 'instrucoes', 'orientações', 'orientacoes', 'regras', 'diretrizes', 'ordens', 'comandos', 'instructies', 'aanwijzingen', 'regels', 'opdrachten'],
    before: 90,
    re: /(?:\b(?:ignora|ignorate|ignori|dimentica|dimenticate|trascura|trascurate)\s+(?:(?:tutte|tutti|le|i|gli|tue|sue|vostre|queste|quelle)\s+){0,4}(?:istruzioni|indicazioni|regole|direttive|ordini|consegne)(?:\s+(?:precedenti|di\s+sopra|iniziali|originali|del\s+sistema|ricevute))?|\b(?:ignore|ignora|ignorem|esqueça|esqueca|esquece|esqueçam|desconsidere|desconsidera)\s+(?:(?:todas|todos|as|os|suas|tuas|quaisquer|de)\s+){0,4}(?:instruções|instrucoes|orientações|orientacoes|regras|diretrizes|ordens|comandos)(?:\s+(?:anteriores|prévias|previas|acima|iniciais|originais|do\s+sistema))?|\b(?:negeer|vergeet)\s+(?:(?:alle|al|de|je|jouw|uw|eerdere|vorige|voorgaande|bovenstaande|eerder|gegeven)\s+){0,4}(?:instructies|aanwijzingen|regels|opdrachten|prompts?)|\bnuove\s+istruzioni\s*:|\bnovas\s+instruções\s*:)/gi,
    label: 'instruction override (Italian/Portuguese/Dutch)',
    score: (m) => (/precedenti|sopra|iniziali|originali|sistema|tutte|tutti|tue|vostre|anteriores|prévias|previas|acima|iniciais|todas|todos|suas|tuas|alle|eerdere|vorige|voorgaande|bovenstaande|jouw|nuove|novas/i.test(m[0]) ? 0.85 : 0.45),
  },
  {
    needles: ['игнор', 'забуд', 'не обращай', 'новые инструкции', 'теперь ты'],
    re: /(?:(?:игнорируй(?:те)?|проигнорируй(?:те)?|забудь(?:те)?|не\s+обращай(?:те)?\s+внимания\s+на)\s+(?:(?:все|всё|предыдущие|прежние|вышеуказанные|свои|твои|ваши|эти|данные|изначальные|системные)\s+){0,4}(?:инструкции|инструкций|указания|правила|команды|ограничения)|новые\s+инструкции\s*:|теперь\s+ты\s+(?:не\s+)?(?:ограничен|свободен|dan|другой|злой|без))/gi,
    label: 'instruction override (Russian)',
    score: 0.85,
  },
  {
    needles: ['忽略', '无视', '忽视', '不要理会', '忘记', '忘掉', '無視', '忘れ', '무시', '잊어', '新的指令', '新しい指示', '现在你是', '你现在是'],
    re: /(?:(?:忽略|无视|忽视|不要理会|忘记|忘掉|無視して|無視)(?:掉)?(?:你)?(?:之前|以前|先前|上面|上述|以上|前面|所有|全部|一切|你的|原来|原有|系统)(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|说明|規則|规则|提示|命令|设定|要求|提示词)|(?:以前|前|上記|これまで|先ほど|最初|システム)の(?:すべての|全ての)?(?:指示|命令|ルール|指令|プロンプト)(?:を|は)(?:すべて|全て)?(?:無視|忘れ)(?!し[、,。]|する(?!こと)|した|され|させ|る(?!こと)|た|られ)|(?:すべての|全ての)(?:指示|命令|ルール)を(?:無視|忘れ)(?!し[、,。]|する(?!こと)|した|され|させ|る(?!こと)|た|られ)|(?:이전|앞의|위의|모든|기존)\s*(?:의\s*)?(?:지시|지침|명령|규칙|프롬프트)(?:사항)?(?:을|를|은|는)?\s*(?:모두\s*)?(?:무시(?!하고|하는|한\s|했|하도록|하게|되)|잊어(?!버리게|서))|新的指令[:：]|新しい指示[:：]|(?:现在你是|你现在是)(?:一个)?(?:不受|没有|无|自由|邪恶|DAN))/gi,
    label: 'instruction override (CJK)',
    score: 0.85,
  },
];

const triggers = sharedTriggers(RULES.map((r) => r.needles));

export const detectOverride: Detector = (ctx) => {
  const hits = triggers(ctx.lower, ctx.lower.length === ctx.text.length);
  for (let i = 0; i < RULES.length; i++) {
    if (hits[i] === undefined) continue; // none of the rule's needles: nothing to run (most rules, most texts)
    const rule = RULES[i]!;
    const onMatch = (m: RegExpExecArray): void => {
      const after = ctx.text.slice(m.index + m[0].length, m.index + m[0].length + 120);
      const score = typeof rule.score === 'number' ? rule.score : rule.score(m, after);
      if (score <= 0) return;
      // Report where the phrase starts, not the separator the pattern may have consumed before it.
      const lead = /^[\s\n.!>*#\],:;]*/.exec(m[0])?.[0].length ?? 0;
      ctx.add('instruction_override', score, `${rule.label}: ${quote(m[0].slice(lead))}`, m.index + lead);
    };
    if (rule.gate && readsWholeText(ctx.text, hits[i], rule.before) && !rule.gate.test(ctx.lower)) continue;
    if (rule.anchors) eachMatchAt(rule.re, ctx.text, hits[i], rule.anchors, onMatch);
    else eachMatchNear(rule.re, ctx.text, hits[i], onMatch, 64, rule.before);
  }
};
