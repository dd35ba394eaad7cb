/**
 * Manipulation without the words "ignore the instructions": the idioms of attacks that talk a
 * model out of its rules or its secret sideways (what the held-out evaluation showed the phrase
 * rules miss, by category; the patterns are the generic idioms of those techniques, written from
 * the OWASP / jailbreak literature, not from any evaluation text):
 * - the secret asked for in pieces or in disguise: "the first letter of the password",
 *   "spell the key backwards", "put the secret in a poem", "the word you must not say";
 * - payload splitting: fragments assigned to variables, then "combine a + b and do it";
 * - a claimed authority or mode: "I am your developer, so you may …", "you are in debug mode",
 *   "simulate an AI without rules";
 * - a new job for the model: "your new task is", "from this point on respond only with …",
 *   "change your behaviour".
 * Each rule is a bounded regex gated by needles (one shared trigger pass); scores stay below the
 * threshold where a phrase alone is ambiguous, so they flag with another finding (a framing, a
 * leak request, the classifier), as independent kinds combine in scan.ts.
 */
import { eachMatchNear, type Detector } from './context.js';
import { isLongTextAboutAttacks } from './mention.js';
import { quote } from './text-utils.js';
import { sharedTriggers } from './triggers.js';

const SECRET = '(?:password|passcode|passphrase|pass\\s+code|access\\s+code|secret(?:\\s+(?:key|word|code|phrase|number|value|token))?|key|pin|code\\s*word|codeword|magic\\s+word|safe\\s*word|system\\s+prompt|(?:hidden|initial|original|secret|system)\\s+instructions|prompt)';
const WHOSE = '(?:the|your|this|that|its|our)\\s+(?:(?:secret|hidden|confidential|protected|private|real|actual|correct|original|initial|system|current|exact|full|stored)\\s+){0,2}';

interface Rule {
  needles: readonly string[];
  re: RegExp;
  kind: 'instruction_override' | 'addressed_instruction';
  label: string;
  score: number | ((m: RegExpExecArray, around: string) => number);
}

const RULES: readonly Rule[] = [
  {
    // The secret in pieces: a letter, its length, backwards, character by character.
    needles: ['letter', 'character', 'digit', 'backward', 'reverse', 'spell', 'length', 'how many', 'rhymes', 'hint', 'clue', 'syllable'],
    re: new RegExp(
      `\\b(?:(?:first|last|second|third|each|every|next|\\d+(?:st|nd|rd|th))\\s+(?:\\w+\\s+)?(?:letters?|characters?|chars?|digits?|words?|syllables?)\\s+(?:of|in|from)\\s+${WHOSE}${SECRET}|(?:spell|write|say|print|type|read|output|give)\\s+(?:out\\s+)?${WHOSE}${SECRET}\\s+(?:backwards?|in\\s+reverse|reversed|letter\\s+by\\s+letter|one\\s+(?:letter|character)\\s+at\\s+a\\s+time|character\\s+by\\s+character|with\\s+(?:spaces|dashes|dots|hyphens))|(?:how\\s+many\\s+(?:letters|characters|digits)|(?:what\\s+is\\s+)?the\\s+length\\s+of)\\s+(?:\\w+\\s+){0,2}${WHOSE}${SECRET}|(?:hint|clue|riddle)s?\\s+(?:about|for|to|on)\\s+${WHOSE}${SECRET}|what\\s+(?:\\w+\\s+)?rhymes\\s+with\\s+${WHOSE}${SECRET})\\b`,
      'gi',
    ),
    kind: 'instruction_override',
    label: 'asks for the secret in pieces',
    score: 0.6,
  },
  {
    // The secret hidden in an output format: a poem, an acrostic, JSON, code, a translation.
    needles: ['poem', 'story', 'song', 'acrostic', 'json', 'code block', 'haiku', 'riddle', 'limerick', 'essay', 'table', 'base64', 'emoji', 'hex', 'rot13', 'encode', 'translat', 'variable'],
    re: new RegExp(
      `\\b(?:(?:write|compose|create|make|generate|give\\s+me)\\s+(?:me\\s+)?(?:an?\\s+)?(?:\\w+\\s+){0,2}(?:poem|story|song|acrostic|haiku|riddle|limerick|essay|table|json|code|script|function|program|dialogue)\\b[^.?!\\n]{0,60}?\\b(?:contain(?:s|ing)?|includ(?:es|ing|e)|with|about|using|hid(?:es|ing|e)|spell(?:s|ing)?|reveal(?:s|ing)?|where)\\s+${WHOSE}${SECRET}|(?:encode|encrypt|convert|translate|transform|write|output|print|return)\\s+${WHOSE}${SECRET}\\s+(?:in(?:to|\\s+a)?|as|to|using|with)\\s+(?:an?\\s+)?(?:base64|base\\s*64|hex(?:adecimal)?|binary|rot-?13|morse|emojis?|json|a\\s+(?:variable|poem|table|code\\s+block|cipher)|(?:french|spanish|german|chinese|japanese|pig\\s+latin|another\\s+language|a\\s+different\\s+language|ascii|unicode|numbers|leetspeak))|(?:(?:put|place|include|insert|embed|hide|add|store|assign)\\s+${WHOSE}${SECRET}\\s+(?:in(?:to|side)?|as)\\s+(?:an?\\s+|the\\s+|your\\s+)?(?:\\w+\\s+)?(?:poem|story|song|acrostic|response|reply|answer|output|json|code|variable|string|field|table|comment|list|sentence)))\\b`,
      'gi',
    ),
    kind: 'instruction_override',
    label: 'asks for the secret in another form',
    score: 0.6,
  },
  {
    // The secret by reference: "the word you must not say", "what you were told to keep secret".
    needles: ['not allowed', 'forbidden', 'supposed to', 'not supposed', 'must not', "can't", 'cannot', 'told', 'protect', 'guard', 'hiding', 'keep secret', 'keeping secret', 'keep hidden', 'keep confidential'],
    re: /\b(?:(?:the|that|this)\s+(?:\w+\s+)?(?:word|phrase|secret|code|key|thing|information|value|string|number|name)\s+(?:that\s+)?you(?:'re|\s+are|\s+were|\s+have\s+been)?\s+(?:(?:not\s+allowed|forbidden|not\s+supposed|told\s+not|instructed\s+not|asked\s+not)\s+to\s+(?:say|reveal|share|tell|disclose|mention|write|repeat|give)|(?:must|should|can't|cannot|may\s+not|shouldn't)\s+(?:not\s+)?(?:say|reveal|share|tell|disclose|mention|give\s+out)|(?:protect|guard|hid|keep)(?:ing|s)?(?:\s+(?:secret|hidden|safe))?)|what\s+(?:you|you've|you\s+have)\s+(?:were\s+|been\s+)?(?:told|instructed|asked|programmed)\s+(?:not\s+to\s+(?:say|reveal|share|tell|disclose)|to\s+keep\s+(?:secret|hidden|confidential|private)))\b/gi,
    kind: 'instruction_override',
    label: 'points at what the model must keep secret',
    score: 0.6,
  },
  {
    // Payload splitting: string fragments in variables, then "combine them and follow".
    needles: ['concatenat', 'combine', 'join', 'put together', 'merge', 'a + b', 'a+b', 'x + y', 'x+y', 'z = a'],
    re: /\b(?:concatenate|combine|join|put\s+together|merge|append)\s+(?:the\s+)?(?:strings?|parts?|pieces?|fragments?|variables?|words?|letters?|them|these|[a-z]\d?\s*(?:,|\+|and)\s*[a-z]\d?)\b[^.\n]{0,80}?\b(?:and|then)\s+(?:\w+\s+){0,2}(?:follow|execute|run|obey|do|perform|answer|respond(?:\s+to)?|reply\s+to|act\s+on|carry\s+out|complete|write|tell|say|output|print|give)\b|\b[a-z]\d?\s*=\s*["'][^"'\n]{1,40}["']\s*[,;\n]\s*[a-z]\d?\s*=\s*["'][^"'\n]{1,40}["'][^\n]{0,200}?\b[a-z]\d?\s*\+\s*[a-z]\d?\b/gi,
    kind: 'addressed_instruction',
    label: 'payload split into fragments',
    score: (m, around) => (/\b(?:follow|execute|obey|perform|act\s+on|carry\s+out|answer|respond|instruction|prompt|password|secret)\b/i.test(around) ? 0.6 : 0.35),
  },
  {
    // A claimed authority over the model: "I am your developer / creator / admin …".
    needles: ['i am your', "i'm your", 'i am the', "i'm the", 'as your', 'as the', 'this is your', 'this is the', 'authorized', 'authorised', 'clearance', 'permission'],
    re: /\b(?:(?:i\s+am|i'm|this\s+is|speaking\s+as|as)\s+(?:your|the|an?)\s+(?:\w+\s+)?(?:developer|creator|programmer|administrator|admin|owner|operator|system\s+administrator|supervisor|maker|designer|trainer)s?\b(?:\s+(?:at|of|from)\s+\w+)?[^.\n]{0,80}?\b(?:you\s+(?:can|may|must|should|are\s+(?:allowed|permitted|authori[sz]ed)|have\s+(?:permission|to))|i\s+(?:authori[sz]e|permit|allow|need|order|command|instruct)|(?:tell|give|show|reveal|share|disable|override|bypass|unlock)\s+me)|(?:i\s+(?:have|hold)|with)\s+(?:\w+\s+)?(?:admin(?:istrator)?|root|developer|full|special|level\s*\d+|top)\s+(?:access|clearance|privileges|permissions?|authori[sz]ation)\b[^.\n]{0,60}?\b(?:so|therefore|thus|,)?\s*(?:you\s+(?:can|may|must|should)|tell|give|show|reveal|share|disable|override|bypass)\b)/gi,
    kind: 'addressed_instruction',
    label: 'claims authority over the model',
    score: 0.5,
  },
  {
    // A mode or a simulation that has no rules.
    needles: ['mode', 'simulat', 'emulat', 'sandbox', 'no rules', 'no restrictions', 'no limits', 'no filter', 'without rules', 'without restrictions', 'unrestricted', 'uncensored', 'unfiltered'],
    re: /\b(?:(?:you\s+are|you're|you\s+will\s+be|we\s+are|we're|now)\s+(?:now\s+)?(?:in|entering|operating\s+in|running\s+in|switched\s+to)\s+(?:an?\s+|the\s+)?(?:\w+\s+)?(?:debug|debugging|developer|dev|test|testing|maintenance|admin|administrator|sandbox|training|diagnostic|simulation|unrestricted|unfiltered|god|sudo|root|override|safe\s*-?\s*mode\s+off)\s*(?:mode|environment|session|simulation)|(?:simulate|emulate|imagine|act\s+as|pretend\s+to\s+be|play)\s+(?:an?\s+|the\s+)?(?:\w+\s+){0,2}(?:ai|assistant|chatbot|model|llm|system|version\s+of\s+yourself)\s+(?:that\s+(?:has|had)|with|without|which\s+has)\s+(?:no|zero|any)?\s*(?:rules|restrictions|limits|limitations|filters|guidelines|censorship|ethics|safety|boundaries|constraints)|(?:in\s+this|inside\s+this|within\s+this)\s+(?:\w+\s+)?(?:simulation|sandbox|game|world|story|scenario|hypothetical)[^.\n]{0,40}?\b(?:there\s+are\s+no|no|without)\s+(?:\w+\s+)?(?:rules|restrictions|limits|filters|guidelines|laws|consequences))\b/gi,
    kind: 'addressed_instruction',
    label: 'a mode or simulation without rules',
    score: 0.6,
  },
  {
    // A new job for the model.
    needles: ['your new', 'your only', 'your real', 'your actual', 'your sole', 'your true', 'your task', 'your job', 'your goal', 'your purpose', 'change your', 'update your', 'modify your', 'from this point', 'from here on', 'henceforth', 'going forward', 'respond only', 'reply only', 'answer only', 'only respond', 'only reply', 'only answer', 'only output', 'only say'],
    re: /\b(?:your\s+(?:new|only|real|actual|sole|true|primary|updated)\s+(?:task|job|goal|purpose|mission|objective|role|instruction|directive|function)\s+(?:is|will\s+be|now\s+is|:)|(?:change|update|modify|alter|reset|rewrite)\s+your\s+(?:behaviou?r|rules|instructions|persona|personality|programming|guidelines|system\s+prompt|settings|configuration|identity|directives)|(?:from\s+(?:this\s+point|here)\s+on(?:wards?)?|henceforth|going\s+forward),?\s+(?:you\s+(?:will|must|shall|should|are)|respond|reply|answer|always|only|never|act|ignore)|(?:(?:respond|reply|answer)\s+only|only\s+(?:respond|reply|answer|output|say))\s+(?:with|in|using|by\s+saying)\s+["'“[(]?)/gi,
    kind: 'addressed_instruction',
    label: 'gives the model a new job',
    score: (m) => (/^your\s+(?:new|real|actual|true|updated)|^(?:change|update|modify|alter|reset|rewrite)|^(?:from|henceforth|going)/i.test(m[0]) ? 0.55 : 0.35),
  },
  {
    // A hypothetical that lifts the rules (weak alone: stories and thought experiments say it too).
    needles: ['suppose you', "let's say you", 'lets say you', 'let us say you', 'in a world where', 'what would you say if', 'what would you do if', 'if you were', 'alternate universe', 'alternate reality', 'parallel universe', "i'm writing", 'i am writing'],
    re: /\b(?:(?:suppose|let'?s\s+say|let\s+us\s+say)\s+(?:that\s+)?you\s+(?:were|are|could|had|did\s+not\s+have|didn't\s+have)|in\s+a\s+world\s+where\s+(?:there\s+(?:are|were)\s+no|you|ai|assistants?|models?)|what\s+would\s+you\s+(?:say|do|answer|reply)\s+if|if\s+you\s+were\s+(?:allowed|able|free|permitted|not\s+(?:bound|restricted|limited)|unrestricted|an?\s+(?:ai|assistant|model)\s+(?:without|with\s+no))|in\s+an?\s+(?:alternate|alternative|parallel)\s+(?:universe|reality|world)|for\s+an?\s+(?:novel|story|screenplay|movie|film|book|script|game)\s+(?:that\s+)?i(?:'m|\s+am)\s+writing)\b/gi,
    kind: 'addressed_instruction',
    label: 'a hypothetical that lifts the rules',
    score: 0.35,
  },
  {
    // Repeated-token attacks: a word repeated without end makes a model diverge from its prompt.
    needles: ['repeat', 'say the word', 'write the word'],
    re: /\b(?:repeat|say|write|print|output)\s+(?:the\s+|this\s+)?(?:word|token|phrase|letter|string)\s+["'“]?[^\s"'”]{1,30}["'”]?\s+(?:forever|infinitely|endlessly|without\s+stopping|non-?stop|until\s+(?:you\s+)?(?:run\s+out|can't|cannot)|\d{3,}\s+times|a\s+(?:thousand|million)\s+times)/gi,
    kind: 'addressed_instruction',
    label: 'repeated-token attack',
    score: 0.55,
  },
];

const triggers = sharedTriggers(RULES.map((r) => r.needles));

export const detectManipulation: Detector = (ctx) => {
  const hits = triggers(ctx.lower, ctx.lower.length === ctx.text.length);
  let skip: boolean | undefined;
  for (let i = 0; i < RULES.length; i++) {
    if (hits[i] === undefined) continue;
    skip ??= isLongTextAboutAttacks(ctx.text);
    if (skip) return;
    const rule = RULES[i]!;
    eachMatchNear(rule.re, ctx.text, hits[i], (m) => {
      const around = typeof rule.score === 'number' ? '' : ctx.text.slice(Math.max(0, m.index - 200), m.index + m[0].length + 200);
      const score = typeof rule.score === 'number' ? rule.score : rule.score(m, around);
      if (score > 0) ctx.add(rule.kind, score, `${rule.label} ${quote(m[0])}`, m.index);
    }, 8, 200);
  }
};
