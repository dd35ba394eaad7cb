/**
 * The prompt-injection guard: scores text (a user prompt, tool arguments, a tool description,
 * a tool result) for signs that it tries to take over the agent reading it. Pure functions, no
 * I/O. One detector per family of signs:
 *   override.ts     instruction_override   "ignore previous instructions", "you are now", multilingual
 *   role-header.ts  role_header            "<|im_start|>system", "[INST]", "SYSTEM:", "</user>"
 *   hidden-text.ts  hidden_text            zero-width/tag characters, bidi overrides, hidden HTML
 *   script.ts       script                 <script>, javascript: URLs, on*= handlers, eval payloads
 *   exfiltration.ts exfiltration_link      images/links to non-allowed hosts carrying data
 *   encoded.ts      encoded_blob           base64/hex blobs, decoded and rescanned
 *   layers.ts       encoded_blob           base32, ROT13, URL/HTML escapes, look-alikes (NFKC skeleton), nested ≤ 2
 *   addressed.ts    addressed_instruction  orders addressed to the model inside data, fake markers, 11+ languages, typos
 *   classifier.ts   classifier             hashed n-gram logistic regression (model/weights.json), a second opinion
 * scan.ts runs them and combines the findings (see there for the formula and the size caps).
 */
export type { InjectionFinding, InjectionKind, InjectionScan, ScanOptions } from './types.js';
export { scanText, scanValue } from './scan.js';
export { clearScanCache } from './scan-cache.js';
