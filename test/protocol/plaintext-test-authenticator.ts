// TEST ONLY: an Authenticator over the Directory that compares plaintext
// passwords stored as "plain:<secret>" in passwordHash. Never used by the
// server; the real one (src/auth/authenticator.ts) hashes.

import type { Authenticator, AuthResult } from '../../src/auth/types.js';
import type { Directory } from '../../src/mail/ports.js';

export class PlaintextTestAuthenticator implements Authenticator {
  constructor(private readonly directory: Directory) {}

  async authenticate(username: string, password: string): Promise<AuthResult> {
    const account = await this.directory.findAccount(username);
    if (!account || account.passwordHash !== `plain:${password}`) return { ok: false, reason: 'invalid' };
    if (account.disabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account };
  }

  invalidate(): void {}
}
