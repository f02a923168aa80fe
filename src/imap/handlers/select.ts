// SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1 for rev1 clients:
// RECENT and [UNSEEN n]), with CONDSTORE and QRESYNC (RFC 7162 3.1.8, 3.2.5).

import type { Command, SelectParam, SequenceSet } from '../../protocol/imap/ast.js';
import type { Response } from '../../protocol/imap/response.js';
import { compressUids, sequenceSetHas } from '../../protocol/imap/sequence.js';
import { CommandError, type CommandOf, type Handler, type HandlerContext, type TaggedResult } from '../context.js';
import { mailboxObjectId } from '../object-id.js';
import { MailboxView } from '../view.js';
import { permanentFlags, selectsReadOnly } from '../rights.js';
import { mailboxAttributes } from '../list-tree.js';

type QresyncParam = Extract<SelectParam, { kind: 'QRESYNC' }>;

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

async function open(ctx: HandlerContext<CommandOf<'SELECT'> | CommandOf<'EXAMINE'>>, examine: boolean): Promise<TaggedResult> {
  const { session, command } = ctx;
  const name = session.fromWire(command.mailbox);
  const qresync = command.params.find((p) => p.kind === 'QRESYNC');
  // RFC 7162 3.2.5: QRESYNC without ENABLE QRESYNC is BAD, and nothing changes.
  if (qresync && !session.qresync) return { status: 'BAD', text: 'QRESYNC requires ENABLE QRESYNC' };
  const wasSelected = session.selected !== null;
  // Any failure below leaves no mailbox selected (RFC 9051 6.3.2).
  session.deselect();
  if (wasSelected) await session.send({ kind: 'status', status: 'OK', code: { kind: 'CLOSED' }, text: 'Previous mailbox is now closed' });
  // RFC 4314 4: "r" to SELECT/EXAMINE; the mailbox may be another owner's, in another repository.
  const ref = await session.access.require(name, 'r');
  const { mailbox, repository } = ref;
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  const readOnly = examine || selectsReadOnly(ref.rights);
  const view = await MailboxView.open(repository.store, mailbox.id);

  const firstUnseen = session.rev2 ? 0 : view.firstUnseen();
  const flags = [...SYSTEM_FLAGS, ...view.keywordsInUse()];
  // SELECT (CONDSTORE) is a CONDSTORE enabling command; its HIGHESTMODSEQ is the one below.
  if (command.params.some((p) => p.kind === 'CONDSTORE')) session.enabled.add('CONDSTORE');
  const condstore = session.condstore;
  const out: Response[] = [
    { kind: 'FLAGS', flags },
    { kind: 'EXISTS', count: view.exists },
  ];
  if (!session.rev2) {
    out.push({ kind: 'RECENT', count: 0 });
    // RFC 9586 3: no message numbers once UIDONLY is on.
    if (firstUnseen > 0 && !session.uidOnly) out.push({ kind: 'status', status: 'OK', code: { kind: 'UNSEEN', seq: firstUnseen }, text: 'First unseen' });
  }
  out.push(
    {
      kind: 'status',
      status: 'OK',
      code: { kind: 'PERMANENTFLAGS', flags: readOnly ? [] : permanentFlags(ref.rights, flags) },
      text: readOnly ? 'No permanent flags permitted' : 'Flags permitted',
    },
    { kind: 'status', status: 'OK', code: { kind: 'UIDVALIDITY', uidValidity: mailbox.uidValidity }, text: 'UIDs valid' },
    { kind: 'status', status: 'OK', code: { kind: 'UIDNEXT', uid: view.uidNext }, text: 'Predicted next UID' },
    // RFC 8474 4.2
    { kind: 'status', status: 'OK', code: { kind: 'MAILBOXID', id: mailboxObjectId(mailbox, repository.name) }, text: 'Ok' },
  );
  if (condstore) {
    out.push({ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: view.highestModseq }, text: 'Highest' });
  }
  if (session.rev2) {
    const all = await repository.store.listMailboxes(ref.owner.id);
    out.push({ kind: 'LIST', attributes: mailboxAttributes(mailbox, all), delimiter: '/', mailbox: session.toWire(ref.display) });
  }
  await session.send(...out);
  session.enterSelected(ref, view, readOnly);
  // Wrong UIDVALIDITY: a plain SELECT, the client sees the new value (RFC 7162 3.2.5).
  if (qresync?.kind === 'QRESYNC' && qresync.uidValidity === mailbox.uidValidity) await resync(ctx, view, qresync);
  session.savedSearch = [];
  const code = readOnly ? ({ kind: 'READ-ONLY' } as const) : ({ kind: 'READ-WRITE' } as const);
  return { status: 'OK', code, text: `${command.name} completed` };
}

/**
 * RFC 7162 3.2.5.1: what happened since the client's modseq, as if it had
 * sent UID FETCH known-uids (FLAGS) (CHANGEDSINCE modseq VANISHED), with the
 * view's snapshot as the present. Tombstones are never pruned, so the
 * expunges are exact; the sequence match data (3.2.5.2) only trims them.
 */
async function resync(ctx: HandlerContext<CommandOf<'SELECT'> | CommandOf<'EXAMINE'>>, view: MailboxView, p: QresyncParam): Promise<void> {
  // The selected mailbox's repository (ctx.deps is from before the SELECT).
  const { session } = ctx;
  const deps = session.deps;
  const maxUid = view.uidNext - 1;
  const known = p.knownUids ?? { kind: 'set' as const, ranges: [{ start: 1, end: maxUid }] };
  const floor = p.seqMatch ? matchedFloor(view, p.seqMatch.seqs, p.seqMatch.uids) : 0;
  const changes = await deps.store.changesSince(view.mailboxId, p.modseq);
  // Messages the view still holds were expunged after it was read: the next update tells of them (VANISHED).
  const gone = changes.expunged.filter((u) => u > floor && view.seqOf(u) === 0 && sequenceSetHas(known, u, maxUid));
  const out: Response[] = [];
  if (gone.length > 0) out.push({ kind: 'VANISHED', earlier: true, uids: compressUids(gone) });
  for (const uid of view.allUids()) {
    const modseq = view.modseqOf(uid);
    if (modseq <= p.modseq || !sequenceSetHas(known, uid, maxUid)) continue;
    out.push({
      kind: 'FETCH',
      seq: view.seqOf(uid),
      items: [
        { kind: 'UID', uid },
        { kind: 'FLAGS', flags: view.flagsOf(uid) },
        { kind: 'MODSEQ', modseq },
      ],
    });
    if (out.length >= 256) await session.send(...out.splice(0));
  }
  // A MODSEQ above the view's HIGHESTMODSEQ must not become the client's resync point before the view
  // has caught up (a code after MODSEQs wins, RFC 7162 6). The listing and the HIGHESTMODSEQ now come
  // from one snapshot (MailStore.listFlags), so this is a guard for a store that reads them apart.
  if (view.maxModseq() > view.highestModseq) {
    out.push({ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: view.highestModseq }, text: 'Highest' });
  }
  if (out.length > 0) await session.send(...out);
}

/** Most numbers a sequence match list is expanded to; beyond it the data is ignored (it only saves bandwidth). */
const MATCH_LIMIT = 100_000;

/**
 * RFC 7162 3.2.5.2: walking the (MSN, UID) pairs in order, the UID of the
 * last pair that still matches the mailbox before the first that does not;
 * the client knows of every expunge up to it. 0 when nothing can be trusted.
 */
function matchedFloor(view: MailboxView, seqs: SequenceSet, uids: SequenceSet): number {
  const s = expand(seqs, view.exists);
  const u = expand(uids, view.lastUid);
  if (s === null || u === null || s.length !== u.length) return 0;
  let floor = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i]! < 1 || s[i]! > view.exists || view.uidAt(s[i]!) !== u[i]) break;
    floor = u[i]!;
  }
  return floor;
}

function expand(set: SequenceSet, star: number): number[] | null {
  if (set.kind !== 'set') return null;
  const out: number[] = [];
  for (const r of set.ranges) {
    const a = r.start === '*' ? star : r.start;
    const b = r.end === '*' ? star : r.end;
    if (out.length + Math.abs(b - a) + 1 > MATCH_LIMIT) return null;
    for (let n = Math.min(a, b); n <= Math.max(a, b); n++) out.push(n);
  }
  return out;
}

export const selectHandler: Handler<CommandOf<'SELECT'>> = (ctx) => open(ctx, false);
export const examineHandler: Handler<CommandOf<'EXAMINE'>> = (ctx) => open(ctx, true);

export type SelectCommand = Extract<Command, { name: 'SELECT' | 'EXAMINE' }>;
