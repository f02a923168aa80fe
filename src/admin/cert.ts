// A self-signed certificate for development, made by the machine's openssl
// binary (no dependency). Production setups use a real certificate.

import { spawn } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AdminError, EXIT } from './types.js';

export interface SelfSignedResult {
  certFile: string;
  keyFile: string;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export async function createSelfSigned(outDir: string, host: string, days = 365): Promise<SelfSignedResult> {
  if (!HOST_NAME.test(host) && !host.includes(':')) throw new AdminError(`invalid host name ${JSON.stringify(host)}`, EXIT.USAGE);
  await mkdir(outDir, { recursive: true });
  const certFile = join(outDir, 'cert.pem');
  const keyFile = join(outDir, 'key.pem');
  const isIp = IPV4.test(host) || host.includes(':');
  const san = isIp ? `IP:${host}` : `DNS:${host}`;
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', String(days),
    '-subj', `/CN=${isIp ? 'petrel' : host}`, '-addext', `subjectAltName=${san}`,
  ];
  await runOpenssl(args);
  await chmod(keyFile, 0o600);
  return { certFile, keyFile };
}

function runOpenssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new AdminError('the openssl command was not found; install OpenSSL (e.g. apt-get install openssl) or provide a certificate', EXIT.UNAVAILABLE)
          : new AdminError(`cannot run openssl: ${err.message}`, EXIT.UNAVAILABLE),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const reason = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit status ${code}`;
        reject(new AdminError(`openssl failed: ${reason}`, EXIT.SOFTWARE));
      }
    });
  });
}
