// Runs the chosen scenarios against each target, one target at a time (never
// concurrently: the machine is small), prints a side-by-side table with the
// Petrel/Dovecot ratio, and writes bench/results/<timestamp>.json.
//
//   node --import tsx bench/run.ts --scenario mixed --target petrel,dovecot --clients 10,50
//   node --import tsx bench/run.ts --help

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertLoopback, type ConnectionNeeds, type Endpoint, type Target } from './lib/endpoint.js';
import { formatCpuUse, sampleCpuBetween, startCpuSample, totalCpuMs, type CpuUse } from './lib/cpu-sample.js';
import { crossServerScenario } from './scenarios/cross-server.js';
import { deliveryScenario } from './scenarios/delivery.js';
import { bigMessageScenario } from './scenarios/big-message.js';
import { idleFanoutScenario } from './scenarios/idle-fanout.js';
import { idleLatencyScenario } from './scenarios/idle-latency.js';
import { largeMailboxScenario } from './scenarios/large-mailbox.js';
import { mixedScenario } from './scenarios/mixed.js';
import type { BenchOptions, Metric, PointHooks, PointResult, Scenario } from './scenarios/types.js';
import { DovecotTarget } from './targets/dovecot.js';
import { PetrelTarget } from './targets/petrel.js';
import { PetrelClusterTarget } from './targets/petrel-cluster.js';
import { formatTable, type TargetRun } from './report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCENARIOS: Record<string, Scenario> = {
  mixed: mixedScenario,
  delivery: deliveryScenario,
  'idle-latency': idleLatencyScenario,
  'idle-fanout': idleFanoutScenario,
  'big-message': bigMessageScenario,
  'large-mailbox': largeMailboxScenario,
  'cross-server': crossServerScenario,
};

const HELP = `Usage: npm run bench -- [options]

  --scenario LIST      ${Object.keys(SCENARIOS).join(',')} (default: all)
  --target LIST        petrel,dovecot (default: both; first one is the ratio's numerator); also petrel@PATH (CLI entry at PATH), petrel-wN (N workers), petrel-cluster, petrel-cluster-N, petrel-cluster-N@PATH,
                       petrel-replicas (one server over a PostgreSQL primary + streaming standbys it reads from), petrel-replicas-sync
  --clients LIST       mixed: concurrent IMAP clients per point (default 10,50,200)
  --users N            mixed: users shared by the clients (default 20)
  --prefill N          mixed: messages per user before the first point (default 200)
  --session-rate LIST  mixed: sessions started per second across all clients, a point per rate and client count
                       ("50 clients @100/s"), on a fixed schedule, with start lag and sessions started/s reported:
                       latencies at the same offered load (default: none, closed loop)
  --connections LIST   delivery: concurrent LMTP connections per point (default 1,4,16)
  --delivery-users N   delivery: recipients, round-robin (default 20)
  --idle-users N       idle-latency: IDLE clients, one per user (default 100)
  --idle-rounds N      idle-latency: deliveries per user (default 3)
  --idle-rate N        idle-latency: LMTP deliveries per second within a round (default 50)
  --idle-connections L idle-fanout: sessions in IDLE per point (default 10000,50000)
  --fanout-users N     idle-fanout: users the sessions are spread over (default 1000)
  --fanout-rate N      idle-fanout: LMTP deliveries per second, one per user (default 100)
  --big-sizes LIST     big-message: message sizes in MB (default 10,50)
  --big-rounds N       big-message: rounds per size, figures are their medians (default 3)
  --large-messages N   large-mailbox: messages in the big INBOX (default 1000000)
  --large-cache DIR    large-mailbox: generated Maildirs are kept and reused here (default <tmpdir>/petrel-bench-cache)
  --duration S         measured seconds per point (default 20)
  --warmup S           unmeasured seconds before each point (default 3)
  --timeout-ms N       per-command timeout (default 30000)
  --seed N             message mix seed (default 1)
  --petrel-run MODE    dist (npm run build, bin/petrel.cjs: what operators run; default) or src (tsx)
  --petrel-env K=V,..  extra env for petrel (e.g. a raised per-IP connection limit)
  --petrel-workers N   petrel targets: server.workers (PETREL_SERVER_WORKERS): \`serve\` forks N worker processes
                       (target petrel-wN sets N for that target, e.g. --target petrel,petrel-w2,dovecot)
  --petrel-data DIR    petrel's data dir, kept and reused (large-mailbox: the import is skipped when INBOX is full)
  --petrel-servers N   petrel-cluster: \`petrel serve\` processes over one PostgreSQL (default 2; target petrel-cluster-N sets N)
  --replicas N         petrel-replicas: streaming standbys serving reads (default 1)
  --replica-mode MODE  petrel-replicas: async (default) or sync replication (petrel-replicas-sync sets sync)
  --deliveries N       cross-server: deliveries, one at a time (default 1000)
  --out FILE           result JSON (default bench/results/<timestamp>.json)
`;

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      args.set('help', 'true');
      continue;
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) args.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      args.set(a.slice(2), v);
      i += 1;
    }
  }
  return args;
}

function numList(s: string | undefined, def: number[]): number[] {
  if (!s) return def;
  const out = s.split(',').map((x) => Number(x.trim()));
  if (out.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`bad number list: ${s}`);
  return out;
}

/** Positive numbers, fractions allowed (rates). */
function rateList(s: string | undefined): number[] {
  if (!s) return [];
  const out = s.split(',').map((x) => Number(x.trim()));
  if (out.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`bad rate list: ${s}`);
  return out;
}

function num(s: string | undefined, def: number): number {
  if (s === undefined) return def;
  const v = Number(s);
  if (!Number.isFinite(v) || v < 0) throw new Error(`bad number: ${s}`);
  return v;
}

/** --petrel-workers N (or the N of a petrel-wN target) as PETREL_SERVER_WORKERS, then --petrel-env K=V,... (which wins). */
function petrelEnv(args: Map<string, string>, workers?: number): Record<string, string> {
  const env: Record<string, string> = {};
  const n = workers ?? (args.has('petrel-workers') ? num(args.get('petrel-workers'), 1) : undefined);
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`--petrel-workers wants a whole number >= 1, got ${n}`);
    env.PETREL_SERVER_WORKERS = String(n);
  }
  for (const kv of (args.get('petrel-env') ?? '').split(',').filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--petrel-env wants K=V, got ${kv}`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

function makeTarget(name: string, args: Map<string, string>, logDir: string, connections: ConnectionNeeds | null): Target {
  if (name === 'dovecot') return new DovecotTarget({ keepLogIn: logDir, connections });
  // petrel@PATH: the CLI entry at PATH (as PETREL_BENCH_CLI), so one run can compare two builds;
  // petrel-wN: N worker processes (server.workers), so one run can compare worker counts.
  const petrelAt = /^petrel(?:-w(\d+))?(?:@(.+))?$/.exec(name);
  if (petrelAt) {
    const env = petrelEnv(args, petrelAt[1] === undefined ? undefined : Number(petrelAt[1]));
    const run = args.get('petrel-run') ?? 'dist';
    if (run !== 'src' && run !== 'dist') throw new Error('--petrel-run is src or dist');
    const cli = petrelAt[2] ?? null;
    // petrel.log for the plain target, else e.g. petrel-w2.log: two petrel targets of one run keep both logs.
    const logName = name === 'petrel' ? 'petrel.log' : `${name.replace(/[^\w.-]+/g, '_')}.log`;
    return new PetrelTarget({ run, env, keepLogIn: logDir, logName, dataDir: args.get('petrel-data') ?? null, connections, cli });
  }
  const cluster = /^petrel-cluster(?:-(\d+))?(?:@(.+))?$/.exec(name);
  if (cluster) {
    const run = args.get('petrel-run') ?? 'dist';
    if (run !== 'src' && run !== 'dist') throw new Error('--petrel-run is src or dist');
    const servers = Number(cluster[1] ?? num(args.get('petrel-servers'), 2));
    return new PetrelClusterTarget({ servers, run, env: petrelEnv(args), keepLogIn: logDir, connections, cli: cluster[2] ?? null }, name);
  }
  // One server over a primary with streaming standbys it reads from; the suffix names the replication mode.
  const replicated = /^petrel-replicas(?:-(sync|async))?$/.exec(name);
  if (replicated) {
    const run = args.get('petrel-run') ?? 'dist';
    if (run !== 'src' && run !== 'dist') throw new Error('--petrel-run is src or dist');
    const mode = replicated[1] ?? args.get('replica-mode') ?? 'async';
    if (mode !== 'sync' && mode !== 'async') throw new Error('--replica-mode is sync or async');
    const replicas = Math.max(1, Math.floor(num(args.get('replicas'), 1)));
    return new PetrelClusterTarget({ servers: 1, replicas, replicaMode: mode, run, env: petrelEnv(args), keepLogIn: logDir, connections }, name);
  }
  throw new Error(`unknown target ${name} (petrel, petrel-wN, petrel@PATH, petrel-cluster, petrel-cluster-N, petrel-replicas, petrel-replicas-sync, dovecot)`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.has('help')) {
    process.stdout.write(HELP);
    return;
  }
  const scenarioNames = (args.get('scenario') ?? Object.keys(SCENARIOS).join(',')).split(',');
  const scenarios = scenarioNames.map((n) => {
    const s = SCENARIOS[n];
    if (!s) throw new Error(`unknown scenario ${n} (${Object.keys(SCENARIOS).join(', ')})`);
    return s;
  });
  const targetNames = (args.get('target') ?? 'petrel,dovecot').split(',');
  const log = (msg: string) => process.stderr.write(`${msg}\n`);
  const o: BenchOptions = {
    seed: num(args.get('seed'), 1),
    durationS: num(args.get('duration'), 20),
    warmupS: num(args.get('warmup'), 3),
    clients: numList(args.get('clients'), [10, 50, 200]),
    mixedUsers: num(args.get('users'), 20),
    prefill: num(args.get('prefill'), 200),
    sessionRates: rateList(args.get('session-rate')),
    connections: numList(args.get('connections'), [1, 4, 16]),
    deliveryUsers: num(args.get('delivery-users'), 20),
    idleUsers: num(args.get('idle-users'), 100),
    idleRounds: num(args.get('idle-rounds'), 3),
    idleRate: Math.max(1, num(args.get('idle-rate'), 50)),
    largeMessages: Math.max(1, Math.floor(num(args.get('large-messages'), 1_000_000))),
    largeCache: args.get('large-cache') ?? null,
    idleConnections: numList(args.get('idle-connections'), [10_000, 50_000]),
    fanoutUsers: Math.max(1, num(args.get('fanout-users'), 1000)),
    fanoutRate: Math.max(1, num(args.get('fanout-rate'), 100)),
    bigSizesMB: numList(args.get('big-sizes'), [10, 50]),
    bigRounds: num(args.get('big-rounds'), 3),
    crossDeliveries: Math.max(1, Math.floor(num(args.get('deliveries'), 1000))),
    timeoutMs: num(args.get('timeout-ms'), 30_000),
    log,
  };
  if (o.durationS <= 0) throw new Error('--duration must be > 0');
  if (!Number.isInteger(o.bigRounds) || o.bigRounds < 1) throw new Error('--big-rounds wants a whole number >= 1');

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(HERE, 'results');
  const logDir = path.join(resultsDir, `${stamp}-logs`);
  await mkdir(logDir, { recursive: true });
  const userIds = [...new Set(scenarios.flatMap((s) => s.userIds(o)))];
  // The largest connection limits any chosen scenario needs (idle-fanout), or null: the targets' defaults.
  const needs = scenarios.flatMap((s) => (s.connectionNeeds ? [s.connectionNeeds(o)] : []));
  const connections: ConnectionNeeds | null = needs.length
    ? { total: Math.max(...needs.map((x) => x.total)), perUser: Math.max(...needs.map((x) => x.perUser)), perIp: Math.max(...needs.map((x) => x.perIp)) }
    : null;

  let current: Target | null = null;
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping the target...');
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });

  const runs: TargetRun[] = [];
  for (const name of targetNames) {
    const target = makeTarget(name, args, logDir, connections);
    const run: TargetRun = { target: name, info: {}, error: null, scenarios: {} };
    runs.push(run);
    current = target;
    log(`== ${name}: starting with ${userIds.length} users`);
    let ep: Endpoint;
    try {
      ep = await target.start(userIds);
      assertLoopback(ep.imap);
      assertLoopback(ep.lmtp);
      for (const sv of ep.servers ?? []) [sv.imap, sv.lmtp].forEach(assertLoopback);
    } catch (e) {
      run.error = (e as Error).message;
      log(`== ${name}: could not start: ${run.error.split('\n').slice(0, 12).join('\n')}`);
      await target.stop();
      continue;
    }
    run.info = target.describe();
    log(`== ${name}: imap ${ep.imap.host}:${ep.imap.port}, lmtp ${ep.lmtp.host}:${ep.lmtp.port}`);
    try {
      for (const s of scenarios) {
        const sr: TargetRun['scenarios'][string] = { error: null, points: [] };
        run.scenarios[s.name] = sr;
        try {
          log(`-- ${name} ${s.name}: prepare`);
          await s.prepare(ep, o);
          for (const p of s.points(o)) {
            // The machine is shared: record how busy it was, to judge noisy figures.
            const loadBefore = os.loadavg()[0]!;
            log(`-- ${name} ${s.name} ${p}: running (load ${loadBefore.toFixed(2)})`);
            const cpu = await startCpuSample(ep);
            const server = ep.sampleServer ? await ep.sampleServer() : null;
            // The server CPU over the measured window only, when the scenario has one (mixed, delivery).
            const window: { cpu: Promise<CpuUse | null> | null } = { cpu: null };
            const hooks: PointHooks = {
              measuredWindow: (startMs, endMs) => {
                window.cpu ??= sampleCpuBetween(ep, startMs, endMs).catch((e: unknown) => {
                  log(`   server CPU over the measured window not sampled: ${(e as Error).message}`);
                  return null;
                });
              },
            };
            const r = await s.runPoint(ep, p, o, hooks);
            const serverCpu = cpu ? await cpu() : undefined;
            const measuredCpu = window.cpu ? await window.cpu : null;
            const perOp = measuredCpu && r.measuredOps !== undefined ? cpuPerOp(measuredCpu, r.measuredOps) : null;
            if (perOp) insertAfterErrors(r, perOp.figures);
            // Figures the target adds (e.g. the read share of replicas), over the whole point like the CPU.
            const serverSample = server ? await server() : undefined;
            if (serverSample?.figures.length) {
              r.metrics.push(...serverSample.figures);
              log(`   server: ${summaryLine(serverSample.figures)}`);
            }
            r.details = {
              ...(r.details as object),
              loadavg1Before: loadBefore,
              loadavg1After: os.loadavg()[0],
              serverCpu,
              serverCpuMeasured: perOp?.details,
              server: serverSample?.details,
            };
            if (serverCpu) log(`   server CPU: ${formatCpuUse(serverCpu)}`);
            if (measuredCpu) log(`   server CPU, measured window: ${formatCpuUse(measuredCpu)}; ${perOp?.figures.map((f) => `${f.name}=${f.value}`).join('  ')}`);
            sr.points.push(r);
            log(`   ${summaryLine(r.metrics)}`);
          }
        } catch (e) {
          sr.error = (e as Error).message;
          log(`-- ${name} ${s.name}: FAILED: ${sr.error}`);
        }
      }
    } finally {
      await target.stop();
      current = null;
    }
  }

  const table = formatTable(runs, targetNames);
  process.stdout.write(`\n${table}\n`);
  const out = args.get('out') ?? path.join(resultsDir, `${stamp}.json`);
  const doc = {
    startedAt: stamp,
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    options: { ...o, log: undefined },
    targets: runs,
  };
  await writeFile(out, JSON.stringify(doc, null, 2) + '\n');
  log(`results: ${out} (server logs in ${logDir})`);
}

/**
 * "server CPU ms/op" over the measured window (all groups together: a
 * cluster's PostgreSQL CPU is part of serving an op), and per group when
 * there are several.
 */
function cpuPerOp(u: CpuUse, ops: number): { figures: Metric[]; details: Record<string, unknown> } {
  const per = (ms: number) => (ops > 0 ? Math.round((1000 * ms) / ops) / 1000 : NaN);
  const figures: Metric[] = [{ name: 'server CPU ms/op', value: per(totalCpuMs(u)), better: 'lower' }];
  const groups = Object.entries(u.groups);
  if (groups.length > 1) for (const [g, v] of groups) figures.push({ name: `server CPU ms/op: ${g}`, value: per(v.cpuMs), better: 'lower' });
  return { figures, details: { ...u, ops, cpuMsPerOp: figures[0]!.value } };
}

/** Server figures go right after the scenario's throughput and error rows, before the latencies. */
function insertAfterErrors(r: PointResult, figures: Metric[]): void {
  const at = r.metrics.findIndex((m) => m.name === 'errors');
  r.metrics.splice(at < 0 ? r.metrics.length : at + 1, 0, ...figures);
}

function summaryLine(metrics: Metric[]): string {
  return metrics
    .slice(0, 5)
    .map((m) => `${m.name}=${Number.isFinite(m.value) ? m.value : 'n/a'}`)
    .join('  ');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
