/**
 * Glob patterns for tool and resource names: `*` matches any run of characters (including `/` and
 * `.`, since names such as `fs/read_file` are flat identifiers, not paths), `?` matches one.
 * Path-oriented glob libraries treat `/` specially, which is wrong here.
 */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export function globMatches(pattern: string, name: string): boolean {
  return isGlob(pattern) ? globToRegExp(pattern).test(name) : pattern === name;
}
