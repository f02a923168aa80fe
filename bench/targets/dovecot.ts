// A private Dovecot 2.3 (Debian packages) as a reference target: its own
// config in a temp dir, loopback ports, maildir, passwd-file users, fsync on
// every write (durable like Petrel). Started with `dovecot -F -c conf` as a
// child process; the temp dir is removed on stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf } from '../../test/support/proc.js';
import { BENCH_DOMAIN, BENCH_PASSWORD, type BenchUser, type ConnectionNeeds, type Endpoint, type Target } from '../lib/endpoint.js';
import { runCommand, stopChild, waitForPort, withOpenFiles } from '../lib/process.js';
import { freePort } from '../lib/stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIL_USER = process.env.PETREL_BENCH_MAIL_USER ?? 'petrelbench';

export interface DovecotOptions {
  /** Log directory kept after stop (the temp dir is removed); null = discard logs. */
  keepLogIn?: string | null;
  /** Connection limits to allow (idle-fanout): raises imap process_limit, anvil/auth client_limit and mail_max_userip_connections. */
  connections?: ConnectionNeeds | null;
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
    await writeFile(conf, dovecotConfig({ dir, passwdFile, imapPort, lmtpPort, uid, gid, connections: this.opts.connections ?? null }));

    // anvil and the log process hold a descriptor per session: raise the soft limit as far as allowed.
    const run = this.opts.connections ? withOpenFiles(this.opts.connections.total + 2000, 'dovecot', ['-F', '-c', conf]) : { cmd: 'dovecot', args: ['-F', '-c', conf] };
    const child = spawn(run.cmd, run.args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      importMaildir: async (userId, maildir) => {
        // Dovecot reads a Maildir as it is: the files become the user's own (hard links
        // when on the same file system, else copies); it indexes them on first access.
        const home = path.join(homes, userId);
        const dest = path.join(home, 'Maildir');
        await mkdir(path.join(dest, 'tmp'), { recursive: true });
        for (const sub of ['cur', 'new']) {
          // Into the directory (Dovecot may have created an empty Maildir already): "src/." copies the contents.
          await mkdir(path.join(dest, sub), { recursive: true });
          const linked = await runCommand('cp', ['-al', `${path.join(maildir, sub)}/.`, path.join(dest, sub)]);
          if (linked.code !== 0) {
            const copied = await runCommand('cp', ['-a', `${path.join(maildir, sub)}/.`, path.join(dest, sub)]);
            if (copied.code !== 0) throw new Error(`copying the maildir failed: ${copied.stderr}`);
          }
        }
        const owned = await runCommand('chown', ['-R', `${uid}:${gid}`, home]);
        if (owned.code !== 0) throw new Error(`chown ${home} failed: ${owned.stderr}`);
      },
      // One imap process per session, children of the master.
      serverPids: async () => (child.pid !== undefined ? childrenOf(child.pid, 'imap') : []),
      pid: child.pid,
      // The master and every child (imap, imap-login, auth, anvil, log, lmtp, ...), those that exited included.
      cpuTrees: async () => ({ dovecot: child.pid !== undefined && child.exitCode === null ? [child.pid] : [] }),
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
  connections: ConnectionNeeds | null;
}

function dovecotConfig(p: ConfigParams): string {
  const log = path.join(p.dir, 'dovecot.log');
  // Still one process per IMAP session (Dovecot recommends client_limit = 1 for
  // mail processes): a fan-out of N sessions needs N imap processes, and anvil
  // and auth serve every one of them.
  const total = p.connections?.total ?? 0;
  const imapProcesses = Math.max(1024, total + 100);
  const serviceClients = Math.max(8192, total + 2000);
  const perUserIp = Math.max(1000, (p.connections?.perUser ?? 0) + 10);
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
  process_limit = ${imapProcesses}
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${p.lmtpPort}
  }
  process_limit = 128
}
service auth {
  client_limit = ${serviceClients}
}
service anvil {
  client_limit = ${serviceClients}
}
protocol imap {
  mail_max_userip_connections = ${perUserIp}
}
`;
}
