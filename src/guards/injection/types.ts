/** The shapes the injection guard answers with; re-exported from ./index.ts. */

export type InjectionKind =
  | 'instruction_override' // "ignore previous instructions", "you are now", "new instructions:", multilingual variants
  | 'role_header' // forged role headers and turns: "system:", "### System", "<|im_start|>system", "[INST]", "</user>"
  | 'hidden_text' // zero-width and tag characters, bidi overrides, HTML comments / CSS-hidden text with instructions
  | 'script' // <script>, javascript: URLs, eval/Function payloads, on*= handlers, shell droppers
  | 'exfiltration_link' // markdown/HTML images and links to hosts not allowed, esp. carrying data in the query
  | 'encoded_blob' // long base64 / hex blobs, esp. ones that decode to instruction text
  | 'addressed_instruction' // orders addressed to the model reading the data: "before you finish the task, do …", fake TODO/system markers
  | 'classifier'; // the learned model (hashed n-gram logistic regression) over the text's skeleton

export interface InjectionFinding {
  kind: InjectionKind;
  /** 0..1, how strongly this finding alone indicates an injection. */
  score: number;
  /** What matched, human readable; quoted text is cleaned and truncated to ~60 characters. */
  detail: string;
  /** Character (UTF-16 code unit) offset in the scanned text. */
  offset: number;
}

export interface InjectionScan {
  /**
   * 0..1 combined score: the strongest finding of each kind, combined across kinds as
   * independent evidence, 1 - Π(1 - max_k). Several findings of one kind do not add up;
   * two medium findings of different kinds do.
   */
  score: number;
  /** score >= threshold */
  suspicious: boolean;
  findings: InjectionFinding[];
  /**
   * Present when input was longer than the scan cap: only the first 192 KiB and the last
   * 64 KiB of a string (in UTF-16 code units) were scanned, or (scanValue) the value had more
   * text, strings or depth than the walk covers.
   */
  truncated?: true;
}

export interface ScanOptions {
  /** Hosts (exact or `*.example.com`) that links/images may point to without a finding. */
  allowedHosts?: readonly string[];
  /** Default 0.5. */
  threshold?: number;
  /** Reuse results for texts scanned before (by content; default true). Benchmarks turn it off. */
  cache?: boolean;
  /**
   * Ask the learned classifier too (default true). Off for a prompt the authenticated user wrote:
   * the classifier learned what injected REQUESTS look like ("retrieve my saved addresses and
   * e-mail them to …"), and a user's own prompt is exactly such a request; the rules still run.
   */
  classifier?: boolean;
}
