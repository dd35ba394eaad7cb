/** Small helpers the detectors share: quoting matched text for a finding's detail. */

// Invisible and control characters are dropped from quotes so a detail never smuggles them on.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;

/** `"text"` with whitespace collapsed, invisible characters removed, cut to `max` characters. */
export function quote(text: string, max = 60): string {
  let s = text.length > max * 4 ? text.slice(0, max * 4) : text;
  s = s.replace(UNPRINTABLE, '').replace(/\s+/g, ' ').trim();
  if (s.length > max) {
    // Do not cut a surrogate pair in half.
    let end = max;
    const code = s.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    s = `${s.slice(0, end)}…`;
  }
  return JSON.stringify(s);
}

/** Clamp to 0..1 and round to three decimals, so scores are stable in logs and tests. */
export function clampScore(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;
}
