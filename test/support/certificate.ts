// A throw-away self-signed certificate for TLS tests (openssl from the machine).

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  cert: string;
  key: string;
  remove(): Promise<void>;
}

export async function createTestCertificate(commonName = 'localhost'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-cert-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${commonName}`, '-days', '1'], {
    stdio: 'ignore',
  });
  return { cert, key, remove: () => rm(dir, { recursive: true, force: true }) };
}
