// A private Dovecot 2.3 (Debian packages) as a reference target: its own
// config in a temp dir, loopback ports, maildir, passwd-file users, fsync on
// every write (durable like Petrel). Started with `dovecot -F -c conf` as a
// child process; the temp dir is removed on stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DOMAIN, BENCH_PASSWORD, type BenchUser, type Endpoint, type Target } from '../lib/endpoint.js';
import { runCommand, stopChild, waitForPort } from '../lib/process.js';
import { freePort } from '../lib/stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIL_USER = process.env.PETREL_BENCH_MAIL_USER ?? 'petrelbench';

export interface DovecotOptions {
  /** Log directory kept after stop (the temp dir is removed); null = discard logs. */
  keepLogIn?: string | null;
}

export class DovecotTarget implements Target {
  readonly name = 'dovecot';
  private dir: string | null = null;
  private child: ChildProcess | null = null;
  private version = 'unknown';

  constructor(private readonly opts: DovecotOptions = {}) {}

  async start(userIds: string[]): Promise<Endpoint> {
    const setup = await runCommand('bash', [path.join(HERE, '..', 'setup-dovecot.sh')]);
    if (setup.code !== 0) throw new Error(`setup-dovecot.sh failed:\n${setup.stdout}\n${setup.stderr}`);
    const uid = Number((await runCommand('id', ['-u', MAIL_USER])).stdout.trim());
    const gid = Number((await runCommand('id', ['-g', MAIL_USER])).stdout.trim());
    this.version = (await runCommand('dovecot', ['--version'])).stdout.trim();

    const dir = await mkdtemp(path.join(os.tmpdir(), 'petrel-bench-dovecot-'));
    this.dir = dir;
    // Dovecot's unprivileged processes (dovecot, dovenull, the mail user) must traverse it.
    await chmod(dir, 0o755);
    for (const sub of ['run', 'state']) await mkdir(path.join(dir, sub));
    const homes = path.join(dir, 'home');
    await mkdir(homes);
    await chown(homes, uid, gid);

    const users = new Map<string, BenchUser>();
    const passwd: string[] = [];
    for (const id of userIds) {
      const login = `${id}@${BENCH_DOMAIN}`;
      users.set(id, { login, password: BENCH_PASSWORD, address: login });
      passwd.push(`${login}:{PLAIN}${BENCH_PASSWORD}:${uid}:${gid}::${path.join(homes, id)}::`);
    }
    const passwdFile = path.join(dir, 'users');
    await writeFile(passwdFile, passwd.join('\n') + '\n', { mode: 0o644 });

    const imapPort = await freePort();
    const lmtpPort = await freePort();
    const conf = path.join(dir, 'dovecot.conf');
    await writeFile(conf, dovecotConfig({ dir, passwdFile, imapPort, lmtpPort, uid, gid }));

    const child = spawn('dovecot', ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    try {
      await waitForPort('127.0.0.1', imapPort, 20_000, child);
      await waitForPort('127.0.0.1', lmtpPort, 20_000, child);
    } catch (e) {
      await this.stop();
      throw new Error(`dovecot did not start: ${(e as Error).message}\n${output}`);
    }
    return {
      name: this.name,
      imap: { host: '127.0.0.1', port: imapPort },
      lmtp: { host: '127.0.0.1', port: lmtpPort },
      users,
    };
  }

  describe(): Record<string, string> {
    return {
      version: this.version,
      settings: 'maildir, mail_fsync=always, auth_cache on, imap-login high-performance mode, process per IMAP session',
    };
  }

  async stop(): Promise<void> {
    if (this.child) {
      await stopChild(this.child).catch(() => undefined);
      this.child = null;
    }
    if (this.dir) {
      if (this.opts.keepLogIn) {
        await runCommand('cp', [path.join(this.dir, 'dovecot.log'), path.join(this.opts.keepLogIn, 'dovecot.log')]).catch(
          () => undefined,
        );
      }
      await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      this.dir = null;
    }
  }
}

interface ConfigParams {
  dir: string;
  passwdFile: string;
  imapPort: number;
  lmtpPort: number;
  uid: number;
  gid: number;
}

function dovecotConfig(p: ConfigParams): string {
  const log = path.join(p.dir, 'dovecot.log');
  return `# Written by petrel bench/targets/dovecot.ts for one bench run.
base_dir = ${path.join(p.dir, 'run')}
state_dir = ${path.join(p.dir, 'state')}
log_path = ${log}
info_log_path = ${log}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
# Dovecot's auth cache (off by default; sites under login load turn it on).
auth_cache_size = 10M
auth_cache_ttl = 1 hour
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = ${p.uid}
last_valid_uid = ${p.uid}
first_valid_gid = ${p.gid}
last_valid_gid = ${p.gid}
mail_location = maildir:~/Maildir
# Durable like Petrel: fsync every write before answering.
mail_fsync = always
# A process per IMAP session is Dovecot's default model; allow 200+ clients.
default_process_limit = 1024
default_client_limit = 8192
default_vsz_limit = 1G

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${p.passwdFile}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${p.passwdFile}
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${p.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
  # High-performance mode (recommended for busy sites): long-lived login processes.
  service_count = 0
  process_min_avail = 2
  client_limit = 1024
}
service imap {
  process_limit = 1024
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${p.lmtpPort}
  }
  process_limit = 128
}
service auth {
  client_limit = 8192
}
service anvil {
  client_limit = 8192
}
protocol imap {
  mail_max_userip_connections = 1000
}
`;
}
