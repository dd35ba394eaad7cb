/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/is.exec(header.trim());
  const token = match?.[1]?.trim();
  return token ? token : undefined;
}
