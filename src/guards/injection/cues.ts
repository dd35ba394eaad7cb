/**
 * Words that give a language model orders. Used to tell an instruction hidden in an HTML
 * comment, a hidden element or after a role header from an ordinary one ("<!-- TODO: fix
 * layout -->", "System: Linux 6.1"). Merely naming an assistant or AI is a weak cue: comments
 * and docs mention "the assistant avatar" all the time.
 */
const STRONG_CUE =
  /\b(?:ignore|disregard|forget|instructions?|from\s+now\s+on|you\s+(?:are\s+now|must|should|will|need\s+to)|(?:must|should)\s+(?:now|always|never|only)|do\s+not\s+(?:tell|mention|reveal|inform)|never\s+(?:tell|mention|reveal)|override|developer\s+mode|system\s+prompt|new\s+(?:task|rules|role|goal|policy|instructions?|directive)|(?:send|forward|exfiltrate|upload|email)\s+(?:all|the|every|this|your|me)\b|reveal|jailbreak|approve\s+(?:all|every|this)|without\s+(?:asking|confirmation|approval))/i;
const WEAK_CUE = /\b(?:ai|llm|gpt|chatbot|language\s+model|assistant|agent|copilot|claude|chatgpt)\b/i;

/** True when `text` (a short window) reads like orders to a model, or names one. */
export function hasInstructionCue(text: string): boolean {
  return STRONG_CUE.test(text) || WEAK_CUE.test(text);
}

/** True when `text` reads like orders (not merely a mention of an assistant). */
export function hasStrongCue(text: string): boolean {
  return STRONG_CUE.test(text);
}
