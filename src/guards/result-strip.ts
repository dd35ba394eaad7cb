import type { JsonValue } from '../model/json.js';
import { hostMatcher, urlHost, type HostMatcher } from './injection/hosts.js';

/**
 * Removes from a tool result what a reader would not see but a model or a renderer acts on:
 * - exfiltration links: markdown and HTML images to hosts not allowed (a renderer fetches them
 *   without a click, with whatever data the URL carries), and links to such hosts that carry a
 *   query or a placeholder (the link text stays);
 * - hidden text: invisible format characters, Unicode tag characters, bidi overrides and HTML
 *   comments.
 * Instructions in plain sight cannot be cut out without guessing where they end: they are left
 * for the warning the caller adds. Pure; walks every string of a JSON value.
 */
export interface StripCounts {
  links: number;
  hidden: number;
}

export interface StripWhat {
  links: boolean;
  hidden: boolean;
}

const MD_IMAGE = /!\[([^[\]\n]{0,300})\]\(\s*<?([^)\s>]{1,2048})>?(?:\s+(?:"[^"\n]{0,300}"|'[^'\n]{0,300}'))?\s*\)/g;
const MD_LINK = /(?<!!)\[([^[\]\n]{0,300})\]\(\s*<?([^)\s>]{1,2048})>?(?:\s+(?:"[^"\n]{0,300}"|'[^'\n]{0,300}'))?\s*\)/g;
const HTML_EMBED = /<(?:img|image|source|video|audio|iframe|embed|object|input)\b[^<>]{0,600}>/gi;
const HTML_SRC = /\b(?:src|href|srcset|data|poster)\s*=\s*["']?([^"'\s>]{1,2048})/i;
const REF_DEF = /^[ \t]{0,3}\[[^\]\n]{1,100}\]:[ \t]*<?(\S{1,2048})[^\n]*$/gm;
/** A URL that carries something: a query, or a template slot for the model to fill in. */
const CARRIES_DATA = /[?&][^=\s]{1,40}=|\{\{?[^}]{1,40}\}\}?|%7B|\$\{|\[[A-Z][A-Z0-9_ ]{2,30}\]/;

// Zero-width space, word joiner and invisible operators, Mongolian vowel separator, BOM: never
// typed on purpose. Joiners (U+200C/D) and direction marks (U+200E/F) are left: scripts use them.
const INVISIBLE = /[\u180E\u200B\u2060-\u2064\u206A-\u206F]|(?<!^)\uFEFF|\uDB40[\uDC00-\uDC7F]/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const HTML_COMMENT = /<!--[\s\S]{0,20000}?(?:-->|$)/g;

export function stripResult(value: JsonValue, what: StripWhat, allowedHosts: readonly string[]): { value: JsonValue; removed: StripCounts } {
  const removed: StripCounts = { links: 0, hidden: 0 };
  const allowed = hostMatcher(allowedHosts);
  const walk = (v: JsonValue, depth: number): JsonValue => {
    if (typeof v === 'string') return stripText(v, what, allowed, removed);
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, depth + 1)]));
  };
  return { value: walk(value, 0), removed };
}

function stripText(text: string, what: StripWhat, allowed: HostMatcher, removed: StripCounts): string {
  let out = text;
  if (what.hidden) {
    out = out.replace(HTML_COMMENT, () => (removed.hidden++, ''));
    out = out.replace(INVISIBLE, () => (removed.hidden++, ''));
    out = out.replace(BIDI, () => (removed.hidden++, ''));
  }
  if (what.links && out.includes('//')) {
    const foreign = (url: string) => {
      const host = urlHost(url);
      return host !== undefined && !allowed(host);
    };
    out = out.replace(MD_IMAGE, (all, _alt: string, url: string) => (foreign(url) ? (removed.links++, '[image removed by Warden]') : all));
    out = out.replace(MD_LINK, (all, label: string, url: string) => (foreign(url) && CARRIES_DATA.test(url) ? (removed.links++, `${label} [link removed by Warden]`) : all));
    out = out.replace(HTML_EMBED, (tag: string) => {
      const url = HTML_SRC.exec(tag)?.[1];
      return url !== undefined && foreign(url) ? (removed.links++, '[image removed by Warden]') : tag;
    });
    out = out.replace(REF_DEF, (all, url: string) => (foreign(url) && CARRIES_DATA.test(url) ? (removed.links++, '[link removed by Warden]') : all));
  }
  return out;
}
