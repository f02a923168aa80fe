// The `petrel` command as an operator uses it: spawned with PETREL_DATA_DIR
// pointing at a temp dir. Covers the admin commands, config check, serve
// (listening lines, IMAP greeting, SIGTERM), and a CLI change reaching a
// running server at once through the control socket.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ControlSocketServer, controlSocketPath, notifyServer } from '../../src/mail/control-socket.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import type { MailEvent } from '../../src/mail/types.js';
import { silentLogger } from '../../src/util/log.js';
import { runCli } from './harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'run.ts')];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as an operator runs it (the harness's runner). */
const petrel = (env: NodeJS.ProcessEnv, args: string[], input = ''): Promise<CliResult> => runCli(env, args, input);

function baseEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PETREL_DATA_DIR: dataDir, PETREL_IMAP_LISTEN: '127.0.0.1:0', PETREL_LMTP_LISTEN: '127.0.0.1:0' };
  delete env.PETREL_CONFIG;
  return env;
}

/** Asserts a failure reported as exactly one line on stderr. */
function assertOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

describe('petrel admin commands', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'petrel-cli-'));
    env = baseEnv(dataDir);
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('help lists every command', async () => {
    const r = await petrel(env, ['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['serve', 'user add', 'user passwd', 'user delete', 'user list', 'user disable', 'user enable', 'mailbox list', 'mailbox create', 'mailbox delete', 'deliver', 'config check', 'cert self-signed']) {
      assert.ok(r.stdout.includes(`petrel ${cmd}`), cmd);
    }
    assert.equal((await petrel(env, ['help'])).stdout, r.stdout);
  });

  test('user add / list / passwd / disable / delete', async () => {
    assert.equal((await petrel(env, ['user', 'add', 'alice', '--password', 'pw1'])).code, 0);
    // Password as one line on a non-terminal stdin.
    const piped = await petrel(env, ['user', 'add', 'bob'], 'from-stdin\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'user bob created\n');
    assertOneLineError(await petrel(env, ['user', 'add', 'alice', '--password', 'x']), 1, /^petrel: user "alice" already exists\n$/);
    assertOneLineError(await petrel(env, ['user', 'add', 'bad name', '--password', 'x']), 64, /invalid user name/);
    assertOneLineError(await petrel(env, ['user', 'add', 'carol'], ''), 64, /no password given/);

    const list = await petrel(env, ['user', 'list', '--json']);
    assert.equal(list.code, 0);
    const users = JSON.parse(list.stdout) as Array<{ name: string; disabled: boolean }>;
    assert.deepEqual(users.map((u) => [u.name, u.disabled]), [['alice', false], ['bob', false]]);
    const table = await petrel(env, ['user', 'list']);
    assert.match(table.stdout, /^NAME\s+DISABLED\s+REPOSITORY\s+CREATED\n/);
    assert.match(table.stdout, /\nalice\s+false\s+default\s+\d{4}-/);

    assert.equal((await petrel(env, ['user', 'passwd', 'alice', '--password', 'pw2'])).code, 0);
    assertOneLineError(await petrel(env, ['user', 'passwd', 'nobody', '--password', 'x']), 67, /no such user "nobody"/);
    assert.equal((await petrel(env, ['user', 'disable', 'bob'])).code, 0);
    const afterDisable = JSON.parse((await petrel(env, ['user', 'list', '--json'])).stdout) as Array<{ name: string; disabled: boolean }>;
    assert.deepEqual(afterDisable.map((u) => [u.name, u.disabled]), [['alice', false], ['bob', true]]);
    assert.equal((await petrel(env, ['user', 'delete', 'bob'])).code, 0);
    const afterDelete = JSON.parse((await petrel(env, ['user', 'list', '--json'])).stdout) as Array<{ name: string }>;
    assert.deepEqual(afterDelete.map((u) => u.name), ['alice']);
    assertOneLineError(await petrel(env, ['user', 'delete', 'bob']), 67, /no such user/);
  });

  test('mailbox create / list / delete', async () => {
    await petrel(env, ['user', 'add', 'mbuser', '--password', 'pw']);
    assert.equal((await petrel(env, ['mailbox', 'create', 'mbuser', 'Projects/2026', '--special-use', '\\Archive'])).code, 0);
    assertOneLineError(await petrel(env, ['mailbox', 'create', 'mbuser', 'X', '--special-use', '\\Bogus']), 64, /invalid --special-use/);
    assertOneLineError(await petrel(env, ['mailbox', 'create', 'mbuser', 'Projects/2026']), 1, /already exists/);
    const list = JSON.parse((await petrel(env, ['mailbox', 'list', 'mbuser', '--json'])).stdout) as Array<{ name: string; specialUse: string | null }>;
    assert.deepEqual(
      list.map((m) => [m.name, m.specialUse]).sort(),
      [
        // `user add` provisions INBOX and the default special-use folders.
        ['Archive', '\\Archive'],
        ['Drafts', '\\Drafts'],
        ['INBOX', null],
        ['Junk', '\\Junk'],
        ['Projects', null],
        ['Projects/2026', '\\Archive'],
        ['Sent', '\\Sent'],
        ['Trash', '\\Trash'],
      ],
    );
    assert.equal((await petrel(env, ['mailbox', 'delete', 'mbuser', 'Projects/2026'])).code, 0);
    const names = (JSON.parse((await petrel(env, ['mailbox', 'list', 'mbuser', '--json'])).stdout) as Array<{ name: string }>).map((m) => m.name);
    assert.deepEqual(names.filter((n) => n.startsWith('Projects')), ['Projects']);
    assertOneLineError(await petrel(env, ['mailbox', 'delete', 'mbuser', 'Nope']), 1, /no mailbox "Nope"/);
    assertOneLineError(await petrel(env, ['mailbox', 'list']), 64, /missing USER/);
  });

  test('deliver: 0 on success, 67 for an unknown user, missing --mailbox falls back to INBOX', async () => {
    await petrel(env, ['user', 'add', 'dora', '--password', 'pw']);
    const message = 'From: a@example.net\r\nSubject: hello\r\n\r\nbody \u00e9\r\n';
    const ok = await petrel(env, ['deliver', 'dora'], message);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /delivered to dora\/INBOX uid 1/);
    const fallback = await petrel(env, ['deliver', 'dora', '--mailbox', 'Missing'], message);
    assert.equal(fallback.code, 0);
    assert.match(fallback.stderr, /does not exist; delivering to INBOX/);
    await petrel(env, ['mailbox', 'create', 'dora', 'Lists']);
    assert.match((await petrel(env, ['deliver', 'dora', '--mailbox', 'Lists'], message)).stdout, /dora\/Lists uid 1/);
    const boxes = JSON.parse((await petrel(env, ['mailbox', 'list', 'dora', '--json'])).stdout) as Array<{ name: string; messages: number; size: number }>;
    const inbox = boxes.find((b) => b.name === 'INBOX');
    assert.equal(inbox?.messages, 2);
    assert.equal(inbox?.size, 2 * Buffer.byteLength(message));
    assertOneLineError(await petrel(env, ['deliver', 'nobody'], message), 67, /no such user "nobody"/);
  });

  test('deliver: a message over the size limit fails without storing', async () => {
    await petrel(env, ['user', 'add', 'erin', '--password', 'pw']);
    const big = 'Subject: big\r\n\r\n' + 'x'.repeat(3000) + '\r\n';
    const r = await petrel({ ...env, PETREL_LIMITS_MAX_MESSAGE_SIZE: '2048' }, ['deliver', 'erin'], big);
    assert.equal(r.code, 65, r.stderr);
    const boxes = JSON.parse((await petrel(env, ['mailbox', 'list', 'erin', '--json'])).stdout) as Array<{ messages: number }>;
    assert.equal(boxes.reduce((n, b) => n + b.messages, 0), 0);
  });

  test('config check: good, bad environment, bad file', async () => {
    const good = await petrel(env, ['config', 'check']);
    assert.equal(good.code, 0);
    assert.match(good.stdout, /^config ok\n/);
    assertOneLineError(
      await petrel({ ...env, PETREL_IMAP_LISTEN: 'localhost' }, ['config', 'check']),
      1,
      /^config: imap\.listen \(from PETREL_IMAP_LISTEN\): expected host:port, \[ipv6\]:port or "off", got "localhost"\n$/,
    );
    const file = join(dataDir, 'bad.toml');
    await writeFile(file, '[limits]\nmax_connections = -1\n');
    assertOneLineError(
      await petrel(env, ['config', 'check', '--config', file]),
      1,
      new RegExp(`^config: limits\\.max_connections \\(from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): expected an integer from 1 to 1000000, got -1\n$`),
    );
  });

  test('unknown commands and options are usage errors', async () => {
    assertOneLineError(await petrel(env, ['frobnicate']), 64, /unknown command "frobnicate"/);
    assertOneLineError(await petrel(env, ['user', 'list', '--bogus']), 64, /Unknown option '--bogus'/);
  });
});

/** A minimal IMAP client over a raw socket. */
class ImapClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static connect(port: number): Promise<ImapClient> {
    return new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => res(new ImapClient(s)));
      s.once('error', rej);
    });
  }
  /** Waits for a line matching `pattern`; returns everything up to and including it. */
  async until(pattern: RegExp): Promise<string> {
    for (;;) {
      const lines = this.buffer.split('\r\n');
      const i = lines.slice(0, -1).findIndex((l) => pattern.test(l));
      if (i >= 0) {
        const seen = lines.slice(0, i + 1).join('\r\n');
        this.buffer = lines.slice(i + 1).join('\r\n');
        return seen;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  send(line: string): void {
    this.socket.write(line + '\r\n');
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('petrel serve', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let child: ChildProcess | null = null;
  let exited: Promise<number | null>;
  const log: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'petrel-serve-'));
    env = { ...baseEnv(dataDir), PETREL_ALLOW_PLAINTEXT_AUTH: 'true' };
    assert.equal((await petrel(env, ['user', 'add', 'alice', '--password', 'secret'])).code, 0);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  test('starts, logs its listening lines, answers IMAP, sees CLI changes at once, stops on SIGTERM', async () => {
    const proc = spawn(process.execPath, [...CLI, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    const ports = await new Promise<Record<string, { host: string; port: number }>>((resolvePromise, reject) => {
      const found: Record<string, { host: string; port: number }> = {};
      createInterface({ input: proc.stderr! }).on('line', (line) => {
        log.push(line);
        let entry: { msg?: string; service?: string; host?: string; port?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          return;
        }
        if (entry.msg === 'listening' && entry.service && entry.host && entry.port) {
          found[entry.service] = { host: entry.host, port: entry.port };
          if (found.imap && found.lmtp) resolvePromise(found);
        }
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}:\n${log.join('\n')}`)));
    });
    assert.equal(ports.imap!.host, '127.0.0.1');
    assert.ok(ports.lmtp!.port > 0);
    assert.ok(existsSync(controlSocketPath(dataDir)), 'control socket created');

    const imap = await ImapClient.connect(ports.imap!.port);
    try {
      assert.match(await imap.until(/^\* /), /^\* OK/);
      imap.send('a1 LOGIN alice secret');
      assert.match(await imap.until(/^a1 /), /a1 OK/);
      imap.send('a2 SELECT INBOX');
      assert.match(await imap.until(/^a2 /), /\* 0 EXISTS[\s\S]*a2 OK/);
      imap.send('a3 IDLE');
      await imap.until(/^\+ /);
      // Another process changes the mailbox; the server learns it through the control socket.
      const delivered = await petrel(env, ['deliver', 'alice'], 'Subject: while idling\r\n\r\nhi\r\n');
      assert.equal(delivered.code, 0, delivered.stderr);
      await imap.until(/^\* 1 EXISTS/);
      imap.send('DONE');
      assert.match(await imap.until(/^a3 /), /a3 OK/);
      // A password change made by the CLI takes effect at once (cached credentials dropped).
      assert.equal((await petrel(env, ['user', 'passwd', 'alice', '--password', 'changed'])).code, 0);
      imap.send('a4 LOGOUT');
      await imap.until(/^a4 /);
    } finally {
      imap.close();
    }
    const second = await ImapClient.connect(ports.imap!.port);
    try {
      await second.until(/^\* /);
      second.send('b1 LOGIN alice secret');
      assert.match(await second.until(/^b1 /), /^b1 NO/m);
    } finally {
      second.close();
    }

    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(controlSocketPath(dataDir)), 'control socket removed at shutdown');
    assert.ok(log.some((l) => l.includes('"msg":"stopped"')));
  });
});

describe('control socket', () => {
  test('events written by notifyServer reach the server bus; account-changed invalidates', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'petrel-sock-'));
    const bus = new InProcessEventBus();
    const received: MailEvent[] = [];
    const invalidated: string[] = [];
    let gotAll: () => void = () => {};
    const all = new Promise<void>((r) => (gotAll = r));
    bus.subscribe((e) => {
      received.push(e);
      if (received.length === 3) gotAll();
    });
    const server = new ControlSocketServer({ dataDir, events: bus, logger: silentLogger, onAccountChanged: (n) => invalidated.push(n) });
    try {
      // A stale socket file from a crashed server does not prevent start.
      await writeFile(controlSocketPath(dataDir), '');
      await server.listen();
      const events: MailEvent[] = [
        { kind: 'mailbox-changed', repository: 'default', accountId: 1, mailboxId: 2, modseq: 3 },
        { kind: 'mailboxes-changed', repository: 'default', accountId: 1 },
        { kind: 'account-changed', accountName: 'alice' },
      ];
      await notifyServer(dataDir, events);
      await all;
      assert.deepEqual(received, events);
      assert.deepEqual(invalidated, ['alice']);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('notifyServer without a server returns quietly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'petrel-sock-'));
    try {
      await notifyServer(dataDir, [{ kind: 'mailboxes-changed', repository: 'default', accountId: 1 }]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
