/** A credential that proves nothing: malformed, unknown, revoked, expired, or for someone else. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}
