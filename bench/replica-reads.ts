// Where each command's reads go (issue 5, read replicas), run by hand:
//
//   node --import tsx bench/replica-reads.ts [--sessions 20] [--prefill 20] [--petrel-run src|dist]
//
// The petrel-replicas target (one `petrel serve`, a PostgreSQL primary and
// one async streaming standby serving reads), one user, and one client doing
// the mixed scenario's session (LOGIN, SELECT, FETCH 1:* FLAGS, FETCH of 5
// ENVELOPEs, UID FETCH BODY.PEEK[], UID STORE +FLAGS \Seen, APPEND, UID STORE
// +FLAGS.SILENT \Deleted + EXPUNGE, LOGOUT) --sessions times, one command at
// a time, with GET /metrics read before and after every command. Printed:
// per command, the metadata and immutable reads the primary and the replica
// served (sum over the sessions), which shows which reads a write sends to
// the primary (read-your-writes). Nothing else runs meanwhile, so the
// counters move only for this client's commands.

import { parseArgs } from 'node:util';
import { ImapClient, ascii } from './lib/imap-client.js';
import { createRng, smallMessage } from './lib/messages.js';
import { scrapeReadCounts, type ReadCounts } from './lib/petrel-metrics.js';
import { prefillOverLmtp } from './lib/prefill.js';
import { PetrelClusterTarget } from './targets/petrel-cluster.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    prefill: { type: 'string', default: '20' },
    'petrel-run': { type: 'string', default: 'src' },
  },
});
const sessions = Number(values.sessions);
const prefill = Number(values.prefill);
if (values['petrel-run'] !== 'src' && values['petrel-run'] !== 'dist') throw new Error('--petrel-run is src or dist');
const run: 'src' | 'dist' = values['petrel-run'];

type Row = { primaryMeta: number; replicaMeta: number; primaryImm: number; replicaImm: number; count: number };

async function main(): Promise<void> {
  const target = new PetrelClusterTarget({ servers: 1, replicas: 1, replicaMode: 'async', run }, 'petrel-replicas');
  const rows = new Map<string, Row>();
  try {
    const ep = await target.start(['probe001']);
    const user = ep.users.get('probe001')!;
    await prefillOverLmtp(ep, [user], prefill, 1, 1, 30_000);
    const [url] = target.metricsUrls();
    if (!url) throw new Error('petrel serve logged no metrics port');
    let last = (await scrapeReadCounts([url]))!;
    const note = async (op: string): Promise<void> => {
      const now = (await scrapeReadCounts([url])) as ReadCounts;
      const r = rows.get(op) ?? { primaryMeta: 0, replicaMeta: 0, primaryImm: 0, replicaImm: 0, count: 0 };
      r.primaryMeta += now.primary.metadata - last.primary.metadata;
      r.replicaMeta += now.replicas.metadata - last.replicas.metadata;
      r.primaryImm += now.primary.immutable - last.primary.immutable;
      r.replicaImm += now.replicas.immutable - last.replicas.immutable;
      r.count += 1;
      rows.set(op, r);
      last = now;
    };
    const rng = createRng(7);
    for (let s = 0; s < sessions; s++) {
      const c = await ImapClient.connect({ ...ep.imap, timeoutMs: 30_000 });
      await note('CONNECT');
      await c.command(`LOGIN "${user.login}" "${user.password}"`);
      await note('LOGIN');
      const sel = await c.command('SELECT INBOX');
      await note('SELECT');
      const exists = Math.max(...sel.untagged.map((x) => Number(/^\* (\d+) EXISTS/.exec(ascii(x.line))?.[1] ?? 0)));
      const all = await c.command('FETCH 1:* (UID FLAGS)');
      await note('FETCH_FLAGS');
      const uids = all.untagged.flatMap((x) => {
        const m = /UID (\d+)/.exec(ascii(x.line));
        return m ? [Number(m[1])] : [];
      });
      const lo = 1 + Math.floor(rng() * Math.max(1, exists - 4));
      await c.command(`FETCH ${lo}:${Math.min(exists, lo + 4)} (UID FLAGS ENVELOPE)`);
      await note('FETCH_ENVELOPE');
      const uid = uids[Math.floor(rng() * Math.min(uids.length, prefill))]!;
      await c.command(`UID FETCH ${uid} (BODY.PEEK[])`);
      await note('FETCH_BODY');
      await c.command(`UID STORE ${uid} +FLAGS (\\Seen)`);
      await note('STORE_SEEN');
      const appended = await c.append('INBOX', smallMessage(1, 5_000_000 + s, user.address), ['\\Seen']);
      await note('APPEND');
      const newUid = /APPENDUID \d+ (\d+)/i.exec(appended.text)?.[1];
      if (newUid) {
        await c.command(`UID STORE ${newUid} +FLAGS.SILENT (\\Deleted)`);
        await note('STORE_DELETED');
        await c.command('EXPUNGE');
        await note('EXPUNGE');
      }
      await c.command('LOGOUT');
      c.close();
      await note('LOGOUT');
    }
  } finally {
    await target.stop();
  }
  const total: Row = { primaryMeta: 0, replicaMeta: 0, primaryImm: 0, replicaImm: 0, count: 0 };
  process.stdout.write(`${sessions} sessions; reads per command (sum over the sessions)\n`);
  process.stdout.write('command          metadata: primary replica   immutable: primary replica\n');
  for (const [op, r] of rows) {
    process.stdout.write(
      `${op.padEnd(16)} ${String(r.primaryMeta).padStart(17)} ${String(r.replicaMeta).padStart(7)} ${String(r.primaryImm).padStart(20)} ${String(r.replicaImm).padStart(7)}\n`,
    );
    total.primaryMeta += r.primaryMeta;
    total.replicaMeta += r.replicaMeta;
    total.primaryImm += r.primaryImm;
    total.replicaImm += r.replicaImm;
  }
  const share = (a: number, b: number) => (a + b > 0 ? ((100 * b) / (a + b)).toFixed(1) : 'n/a');
  process.stdout.write(
    `${'total'.padEnd(16)} ${String(total.primaryMeta).padStart(17)} ${String(total.replicaMeta).padStart(7)} ${String(total.primaryImm).padStart(20)} ${String(total.replicaImm).padStart(7)}\n` +
      `replica share: metadata ${share(total.primaryMeta, total.replicaMeta)} %, immutable ${share(total.primaryImm, total.replicaImm)} %\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`replica-reads failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
