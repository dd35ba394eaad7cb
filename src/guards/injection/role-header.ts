/**
 * role_header: text that forges the structure of a conversation — chat-template tokens
 * (`<|im_start|>system`, `[INST]`, `<<SYS>>`, `<start_of_turn>`), role labels at the start of a
 * line ("SYSTEM:", "Developer message:", "Assistant:"), Markdown headings ("### System
 * prompt"), and pseudo-XML turn tags (`</user>`, `<system>`, `</tool_result>`).
 *
 * Plain "User:" / "Assistant:" turns are weak on their own (chat logs have them); "System:" is
 * weak unless what follows reads like orders to a model ("System: Linux 6.1" is not).
 */
import { eachMatch, type Detector } from './context.js';
import { hasInstructionCue } from './cues.js';
import { quote } from './text-utils.js';

const TEMPLATE_TOKEN =
  /<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id|eom_id|channel|message|start|end|return|constrain|tool_call|tool_response)\|>(?:\s*(system|developer|user|assistant|tool))?|\[\/?INST\]|<<\/?SYS>>|<\/?start_of_turn>(?:(user|model|system))?|<end_of_turn>/gi;

const LINE_LABEL =
  /^[ \t]*(?:[-*>|][ \t]+)?[>*_#[("']{0,4}[ \t]*(system|developer|assistant|user|human|ai|model|admin|administrator|operator|root)(?:[ \t]+(message|prompt|note|override|instructions?|update|notice|alert|command|directive|mode))?[ \t]*[*_\])]{0,3}[ \t]*:[ \t]*([^\n]{0,160})/gim;

const BRACKET_LABEL = /\[(system|developer|admin|sys)(?:[ \t]+(?:message|prompt|note|override|instructions?|update|notice))?\](\(#[\w-]{0,40}\))?\s*([^\n]{0,160})/gi;

const HEADING =
  /^[ \t]{0,3}#{1,6}[ \t]*(?:new[ \t]+|updated[ \t]+)?(system(?:[ \t]+(?:prompt|message|instructions?|override|update))?|developer[ \t]+(?:message|instructions?|prompt)|instructions?[ \t]+for[ \t]+(?:the[ \t]+)?(?:ai|assistant|model|llm|agent)|(?:ai|assistant|llm)[ \t]+instructions?)[ \t]*:?[ \t]*$/gim;

const TAG =
  /<(\/?)(system|system_prompt|system-prompt|sys|user|assistant|human|developer|instructions?|tool_result|tool_output|function_results|function_result|admin|untrusted_input|important)(?:[ \t][^<>\n]{0,100})?>/gi;

// Pre-filters on the lowercased text, one regex test each, each run only when the text has the
// character every match of it needs (`<`, `[`, `#`, `:`, or "_of_turn"): `includes` reads a
// text ~100x faster than these regexes, and prose has none of those characters. Each gate is
// implied by its regex (test/guards/scan-gates.property.test.ts), so the answers are the same.
const HAS_TEMPLATE = /<\||\[\/?inst\]|<<\/?sys>>|start_of_turn|end_of_turn/;
const HAS_BRACKET = /\[(?:system|developer|admin|sys)\b/;
const HAS_HEADING = /#[ \t]*(?:new[ \t]+|updated[ \t]+)?(?:system|developer|instructions?|ai|assistant|llm)/;
const HAS_TAG = /<\/?(?:system|sys|user|assistant|human|developer|instruction|tool_|function_|admin|untrusted|important)/;

/** Which of the detector's patterns can match: the pre-filters' answers, and whether LINE_LABEL is worth running. */
export interface RoleHeaderGates {
  template: boolean;
  line: boolean;
  bracket: boolean;
  heading: boolean;
  tag: boolean;
}

/** The pre-filters, each behind its character gate (exported for the property test). */
export function roleHeaderGates(text: string, lower: string): RoleHeaderGates {
  const angle = lower.includes('<');
  const bracket = lower.includes('[');
  return {
    template: (angle || bracket || lower.includes('_of_turn')) && HAS_TEMPLATE.test(lower),
    line: text.includes(':'),
    bracket: bracket && HAS_BRACKET.test(lower),
    heading: lower.includes('#') && HAS_HEADING.test(lower),
    tag: angle && HAS_TAG.test(lower),
  };
}

export const detectRoleHeader: Detector = (ctx) => {
  const { text, lower } = ctx;
  const gates = roleHeaderGates(text, lower);

  if (gates.template) {
    eachMatch(TEMPLATE_TOKEN, text, (m) => {
      const role = (m[1] ?? m[2] ?? '').toLowerCase();
      ctx.add('role_header', role === 'system' || role === 'developer' ? 0.9 : 0.8, `chat template token ${quote(m[0], 40)}`, m.index);
    });
  }

  if (gates.line) {
    // LINE_LABEL is anchored at line starts; every label ends with a colon.
    eachMatch(LINE_LABEL, text, (m) => {
      const role = (m[1] ?? '').toLowerCase();
      const qualifier = (m[2] ?? '').toLowerCase();
      const rest = m[3] ?? '';
      let score: number;
      if (role === 'system' || role === 'developer') {
        if (qualifier && qualifier !== 'mode' && qualifier !== 'notice' && qualifier !== 'alert') score = 0.7;
        else score = hasInstructionCue(rest) ? 0.65 : 0.3;
      } else if (role === 'admin' || role === 'administrator' || role === 'operator' || role === 'root') {
        score = qualifier === 'override' || qualifier === 'command' || qualifier === 'directive' || hasInstructionCue(rest) ? 0.55 : 0.15;
      } else {
        // user / assistant / human / ai / model turns: chat transcripts have these.
        score = hasInstructionCue(rest) ? 0.3 : 0.15;
      }
      const label = m[0].slice(0, m[0].length - rest.length).trim();
      ctx.add('role_header', score, `role label ${quote(label, 40)}${rest ? ` before ${quote(rest, 40)}` : ''}`, m.index + (m[0].length - m[0].trimStart().length));
    });
  }

  if (gates.bracket) {
    eachMatch(BRACKET_LABEL, text, (m) => {
      const rest = m[3] ?? '';
      // `[system](#context)` is the Markdown role marker of Bing-chat-style injections.
      ctx.add('role_header', m[2] || hasInstructionCue(rest) ? 0.7 : 0.4, `role label ${quote(m[0].slice(0, m[0].length - rest.length).trim(), 40)}`, m.index);
    });
  }

  if (gates.heading) {
    eachMatch(HEADING, text, (m) => {
      const what = (m[1] ?? '').toLowerCase();
      const after = text.slice(m.index + m[0].length, m.index + m[0].length + 200);
      const base = what === 'system' ? 0.35 : 0.55;
      ctx.add('role_header', hasInstructionCue(after) ? base + 0.25 : base, `role heading ${quote(m[0].trim(), 40)}`, m.index);
    });
  }

  if (gates.tag) {
    eachMatch(TAG, text, (m) => {
      const closing = m[1] === '/';
      const tag = (m[2] ?? '').toLowerCase();
      const after = text.slice(m.index + m[0].length, m.index + m[0].length + 160);
      let score = /tool_result|tool_output|function_result|untrusted/.test(tag) ? 0.45 : 0.25;
      // A turn closed and another role's turn opened: a forged boundary (</user><system>, </tool_result><user>).
      if (closing && /^\s*<(?:system|assistant|developer|user|human)\b/i.test(after) && !new RegExp(`^\\s*<${tag}\\b`, 'i').test(after)) score += 0.3;
      else if (closing && /^\s*</.test(after)) score += 0.1;
      if (hasInstructionCue(after)) score += 0.3;
      ctx.add('role_header', score, `role tag ${quote(m[0], 40)}`, m.index);
    });
  }
};
