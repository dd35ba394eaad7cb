import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** A real identity provider for tests: its JWKS served on 127.0.0.1, and its signing key. */
export interface IdentityProvider {
  issuer: string;
  key: SigningKey;
  /** A token signed by this provider (or by `signWith`): `sign(claims).setSubject(…)…` is up to the caller. */
  token(claims: Record<string, unknown>): SignJWT;
  close(): Promise<void>;
}

export async function startIdentityProvider(kid = 'k1'): Promise<IdentityProvider> {
  const pair = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    key: pair.privateKey,
    token: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(issuer),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
