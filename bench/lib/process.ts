// Child-process helpers for targets: run a command to completion, wait for a
// port to accept connections, stop a child and wait for its exit.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCommand(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Polls until host:port accepts a TCP connection. Polling (bounded by
 * timeoutMs) is the only readiness signal some servers give.
 */
export async function waitForPort(host: string, port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
    if (await tryConnect(host, port)) return;
    await delay(50);
  }
  throw new Error(`${host}:${port} not accepting connections after ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * cmd/args wrapped so that the child starts with at least `openFiles` as its
 * soft limit on open files (`ulimit -n`), or the hard limit when that is
 * lower (raising the hard limit needs root outside a container). `exec`
 * keeps the pid, so the caller's child.pid is the command's own.
 */
export function withOpenFiles(openFiles: number, cmd: string, args: string[]): { cmd: string; args: string[] } {
  const script = `ulimit -n ${Math.ceil(openFiles)} 2>/dev/null || ulimit -n hard 2>/dev/null; exec "$0" "$@"`;
  return { cmd: 'bash', args: ['-c', script, cmd, ...args] };
}
