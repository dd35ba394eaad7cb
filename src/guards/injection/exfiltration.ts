/**
 * exfiltration_link: images and links a renderer or agent would fetch, pointing to a host not
 * in `allowedHosts` — the "render this image" channel that leaks conversation data in a URL.
 * - Markdown images `![alt](url)` and HTML `<img src=…>` (fetched without a click): a finding
 *   for any non-allowed host; strong when the URL carries data (long query values, base64-ish
 *   strings) or template placeholders for the model to fill in (`{secret}`, `[DATA]`, `$KEY`).
 * - Markdown links `[text](url)` (need a click): only when the URL carries placeholders or
 *   data in the query.
 * - Reference-style definitions `[id]: url` are treated like links.
 * Relative URLs, mailto: and anchors are not fetched elsewhere and are ignored.
 */
import { eachMatch, hasAny, type Detector, type DetectorContext } from './context.js';
import { urlHost } from './hosts.js';
import { quote } from './text-utils.js';

const MD_LINK = /(!?)\[([^[\]\n]{0,300})\]\(\s*<?([^)\s>]{1,2048})/g;
const HTML_IMG = /<(?:img|image|source|video|audio|iframe|embed|object|link|input)\b[^<>]{0,300}?\b(?:src|href|srcset|data|poster)\s*=\s*["']?([^"'\s>]{1,2048})/gi;
const REF_DEF = /^[ \t]{0,3}\[([^\]\n]{1,100})\]:[ \t]*<?(\S{1,2048})/gm;
const CSS_URL = /url\(\s*["']?(https?:\/\/[^"')\s]{1,2048})/gi;

const PLACEHOLDER = /\{\{?[^}]{1,40}\}\}?|%7B|\$\{|\$[A-Z_]{3,}|\[(?:DATA|SECRET|INFO|CONTENT|SUMMARY|CONVERSATION|HISTORY|PASSWORD|KEY|TOKEN|EMAIL|NAME|INSERT|USER|QUERY|X)[^\]]{0,30}\]|<(?:DATA|SECRET|INFO|SUMMARY|CONVERSATION|HISTORY|PASSWORD|KEY|TOKEN|EMAIL|INSERT|USER|QUERY|X)[^>]{0,30}>|%5B[A-Z_]{2,}%5D|\bINSERT_[A-Z_]+|\bYOUR_[A-Z_]+_HERE/i;
/** An upper-case bracketed slot such as `[SESSION_TOKEN]` or `[USER EMAIL]` (case-sensitive). */
const UPPER_SLOT = /\[[A-Z][A-Z0-9_ ]{2,30}\]|%5B[A-Z][A-Z0-9_]{2,30}%5D/;
const DATA_PARAM = /[?&](?:q|d|data|c|content|conv|conversation|chat|history|msg|message|text|s|secret|key|apikey|api_key|token|pw|pass|password|email|info|summary|payload|p|x|leak|exfil|log|u|user|memo|notes?|ctx|context|ssn|cc|card)=/i;

interface Candidate {
  image: boolean;
  url: string;
  index: number;
  kind: string;
}

export const detectExfiltration: Detector = (ctx) => {
  const { text, lower } = ctx;
  if (!lower.includes('//')) return; // every URL we judge is absolute or protocol-relative
  if (lower.includes('](')) eachMatch(MD_LINK, text, (m) => judge(ctx, { image: m[1] === '!', url: m[3] ?? '', index: m.index, kind: m[1] === '!' ? 'markdown image' : 'markdown link' }), 256);
  if (hasAny(lower, ['<img', '<image', '<source', '<video', '<audio', '<iframe', '<embed', '<object', '<link', '<input']))
    eachMatch(HTML_IMG, text, (m) => judge(ctx, { image: true, url: m[1] ?? '', index: m.index, kind: 'HTML image/embed' }), 256);
  if (lower.includes(']:')) eachMatch(REF_DEF, text, (m) => judge(ctx, { image: false, url: m[2] ?? '', index: m.index, kind: 'reference link' }), 256);
  if (lower.includes('url(')) eachMatch(CSS_URL, text, (m) => judge(ctx, { image: true, url: m[1] ?? '', index: m.index, kind: 'CSS url()' }), 256);
};

function judge(ctx: DetectorContext, c: Candidate): void {
  const host = urlHost(c.url);
  if (!host || ctx.hosts(host)) return;
  const q = c.url.indexOf('?');
  const query = q === -1 ? '' : c.url.slice(q + 1);
  const pathAndQuery = c.url.slice(c.url.indexOf(host) + host.length);
  const placeholder = PLACEHOLDER.test(pathAndQuery) || UPPER_SLOT.test(pathAndQuery);
  const longValue = /[=/][A-Za-z0-9+/_%.-]{40,}/.test(pathAndQuery) && !/\.(?:png|jpe?g|gif|svg|webp|ico|avif)(?:$|[?#])/i.test(pathAndQuery.slice(0, 200));
  const dataParam = DATA_PARAM.test(c.url);
  const sneaky = c.url.includes('@') && /^[^?#]*@/.test(c.url.replace(/^\s*\w+:\/\//, '')); // user@host trick
  let score: number;
  let why: string;
  if (placeholder) {
    score = c.image ? 0.9 : 0.7;
    why = 'with a placeholder for data';
  } else if (longValue || (dataParam && query.length >= 24)) {
    score = c.image ? 0.75 : 0.4;
    why = 'carrying data in the URL';
  } else if (dataParam || query.length > 0) {
    score = c.image ? 0.45 : 0;
    why = 'with a query string';
  } else {
    score = c.image ? 0.2 : 0;
    why = '';
  }
  if (sneaky) {
    score = Math.max(score, 0.6);
    why = `${why} (credentials part hides the real host)`.trim();
  }
  if (score <= 0) return;
  ctx.add('exfiltration_link', score, `${c.kind} to non-allowed host ${quote(host, 60)}${why ? ` ${why}` : ''}: ${quote(c.url, 60)}`, c.index);
}
