/**
 * script: active content a renderer or a tool could execute — `<script>` elements (more so
 * when they read cookies/storage or send data out), `javascript:`/`vbscript:`/`data:text/html`
 * URLs, inline `on*=` event handlers in HTML (not JSX `onClick={…}`), eval/Function/exec over
 * decoded or built strings, and shell droppers (`curl … | sh`, `/dev/tcp` reverse shells).
 *
 * Source code that merely mentions eval, or calls it on a variable, stays weak: a code review
 * tool result is not an attack.
 */
import { eachMatchNear, type Detector } from './context.js';
import { quote } from './text-utils.js';
import { sharedTriggers } from './triggers.js';

interface Rule {
  needles: readonly string[];
  re: RegExp;
  label: string;
  score: number | ((m: RegExpExecArray, text: string) => number);
}

const EXFIL_API = /document\.cookie|localStorage|sessionStorage|fetch\s*\(|XMLHttpRequest|navigator\.sendBeacon|new\s+Image\s*\(|\.src\s*=|window\.location|location\.href\s*=|eval\s*\(|atob\s*\(|String\.fromCharCode/i;

const RULES: readonly Rule[] = [
  {
    needles: ['<script'],
    re: /<script\b([^>]{0,300})>([^<]{0,2000})/gi,
    label: 'script element',
    score: (m) => {
      const attrs = m[1] ?? '';
      const body = m[2] ?? '';
      if (EXFIL_API.test(body)) return 0.85;
      if (/\balert\s*\(|\bprompt\s*\(|\bconfirm\s*\(/.test(body)) return 0.7; // XSS probe
      // Pages fetched by a browsing tool are full of analytics and framework scripts.
      return /\bsrc\s*=/.test(attrs) || body.trim().length > 0 ? 0.4 : 0.3;
    },
  },
  {
    needles: ['javascript:', 'vbscript:', 'data:text/html', 'livescript:'],
    re: /(?:\b(?:href|src|action|formaction|xlink:href|data|srcdoc)\s*=\s*["']?\s*|\]\(\s*<?|^\s*|[("'\s])(?:javascript|vbscript|livescript)\s*:(?!\s*void\s*\(\s*0\s*\)\s*["';)]?)[^\s"'<>)]{0,80}|(?:\b(?:href|src|data)\s*=\s*["']?\s*|\]\(\s*<?)data:text\/html[^\s"'<>)]{0,60}/gim,
    label: 'script URL',
    score: (m) => (/^\s*[("'\s]?\s*(?:javascript|vbscript|livescript)\s*:\s*$/i.test(m[0]) ? 0 : 0.85),
  },
  {
    needles: ['onerror', 'onload', 'onmouseover', 'onfocus', 'onclick', 'onmouseenter', 'onanimation', 'ontoggle', 'onbegin', 'onpageshow', 'onstart', 'onpointer', 'onbeforeprint', 'oninput', 'onchange', 'onsubmit'],
    re: /<[a-z][a-z0-9-]*\b[^<>]{0,200}?[\s"'/](on(?:error|load|mouseover|mouseenter|focus|click|animationstart|animationend|toggle|begin|pageshow|start|pointerover|pointerenter|beforeprint|input|change|submit|blur|keydown|keyup))\s*=\s*(?!\{)(["']?)([^"'<>]{0,120})/gi,
    label: 'inline event handler',
    score: (m) => (/alert|prompt|confirm|eval|fetch|cookie|location|atob|src\s*=|import\(|constructor|fromCharCode|XMLHttpRequest|document\.|window\./i.test(m[3] ?? '') ? 0.85 : 0.4),
  },
  {
    needles: ['eval(', 'eval (', 'function(', 'function (', 'settimeout', 'setinterval', 'exec(', 'exec (', 'execscript', 'compile(', 'compile ('],
    re: /\b(?:eval|(?:new\s+)?Function|setTimeout|setInterval|exec|execScript|compile)\s*\(\s*(?:(atob|unescape|decodeURIComponent|String\.fromCharCode|base64\.b64decode|b64decode|bytes\.fromhex|codecs\.decode|zlib\.decompress|marshal\.loads|Buffer\.from|__import__|request|input|requests?\.get|urllib|fetch)\b|(["'`])([^"'`\n]{0,200})(["'`]))/gi,
    label: 'dynamic code execution',
    score: (m) => {
      if (m[1]) return 0.85; // eval(atob(...)), exec(base64.b64decode(...)), exec(requests.get(...))
      const literal = m[3] ?? '';
      if (/fetch|cookie|XMLHttpRequest|location|atob|import|require|child_process|os\.system|subprocess|socket|\/dev\/tcp|curl|wget/i.test(literal)) return 0.8;
      return /^(?:eval|exec)/i.test(m[0]) ? 0.35 : 0; // setTimeout("tick()", 10) in legacy code
    },
  },
  {
    needles: ['__import__', 'os.system', 'subprocess', 'child_process'],
    re: /__import__\s*\(\s*["'](?:os|subprocess|socket|pty)["']\s*\)\s*\.\s*(?:system|popen|call|run|spawn|check_output)|require\s*\(\s*["']child_process["']\s*\)\s*\.\s*(?:exec|execSync|spawn)\s*\(\s*["'][^"']{0,80}(?:curl|wget|nc\s|bash|sh\s|\/dev\/tcp|rm\s+-rf)/gi,
    label: 'inline command execution',
    score: 0.8,
  },
  {
    needles: ['curl', 'wget', '/dev/tcp', 'nc -e', 'ncat', 'iex', 'invoke-expression', 'downloadstring', 'mkfifo'],
    re: /\b(?:curl|wget)\s[^\n|;]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|\/dev\/tcp\/[\w.-]+\/\d+|\bn(?:c|cat)\s+(?:-\w+\s+)*-e\s+\/bin\/(?:ba)?sh|\b(?:iex|invoke-expression)\s*\(?\s*\(?\s*(?:new-object\s+net\.webclient|iwr|invoke-webrequest|\(?\s*\[?system\.text)|downloadstring\s*\(|mkfifo\s+\/tmp\/\w+\s*;?\s*(?:cat|nc)/gi,
    label: 'shell payload',
    score: (m) => (/\/dev\/tcp|\s-e\s|iex|invoke-expression|downloadstring|mkfifo/i.test(m[0]) ? 0.85 : 0.5),
  },
];

const triggers = sharedTriggers(RULES.map((r) => r.needles));

export const detectScript: Detector = (ctx) => {
  const hits = triggers(ctx.lower, ctx.lower.length === ctx.text.length);
  for (let i = 0; i < RULES.length; i++) {
    if (hits[i] === undefined) continue;
    const rule = RULES[i]!;
    eachMatchNear(rule.re, ctx.text, hits[i], (m) => {
      const score = typeof rule.score === 'number' ? rule.score : rule.score(m, ctx.text);
      if (score <= 0) return;
      const lead = /^[\s("'\]]*/.exec(m[0])?.[0].length ?? 0;
      ctx.add('script', score, `${rule.label}: ${quote(m[0].slice(lead))}`, m.index + lead);
    });
  }
};
