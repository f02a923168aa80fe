// SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 3501 6.3.1 for rev1 clients:
// RECENT and [UNSEEN n]).

import type { Command } from '../../protocol/imap/ast.js';
import type { Response } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler, type HandlerContext, type TaggedResult } from '../context.js';
import { MailboxView } from '../view.js';
import { mailboxAttributes } from './list-tree.js';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

async function open(ctx: HandlerContext<CommandOf<'SELECT'> | CommandOf<'EXAMINE'>>, readOnly: boolean): Promise<TaggedResult> {
  const { session, deps, command } = ctx;
  const account = session.account!;
  const name = session.fromWire(command.mailbox);
  const wasSelected = session.selected !== null;
  // Any failure below leaves no mailbox selected (RFC 9051 6.3.2).
  session.deselect();
  if (wasSelected) await session.send({ kind: 'status', status: 'OK', code: { kind: 'CLOSED' }, text: 'Previous mailbox is now closed' });
  const mailbox = await deps.store.getMailbox(account.id, name);
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  const view = await MailboxView.open(deps.store, mailbox.id);

  const keywords = new Set<string>();
  let firstUnseen = 0;
  const uids = view.allUids();
  for (let i = 0; i < uids.length; i++) {
    const flags = view.flagsOf(uids[i]!);
    for (const f of flags) if (!f.startsWith('\\')) keywords.add(f);
    if (firstUnseen === 0 && !flags.includes('\\Seen')) firstUnseen = i + 1;
  }
  const flags = [...SYSTEM_FLAGS, ...[...keywords].sort()];
  const condstore = session.enabled.has('CONDSTORE') || command.params.some((p) => p.kind === 'CONDSTORE');
  const out: Response[] = [
    { kind: 'FLAGS', flags },
    { kind: 'EXISTS', count: view.exists },
  ];
  if (!session.rev2) {
    out.push({ kind: 'RECENT', count: 0 });
    if (firstUnseen > 0) out.push({ kind: 'status', status: 'OK', code: { kind: 'UNSEEN', seq: firstUnseen }, text: 'First unseen' });
  }
  out.push(
    {
      kind: 'status',
      status: 'OK',
      code: { kind: 'PERMANENTFLAGS', flags: readOnly ? [] : [...flags, '\\*'] },
      text: readOnly ? 'No permanent flags permitted' : 'Flags permitted',
    },
    { kind: 'status', status: 'OK', code: { kind: 'UIDVALIDITY', uidValidity: mailbox.uidValidity }, text: 'UIDs valid' },
    { kind: 'status', status: 'OK', code: { kind: 'UIDNEXT', uid: view.uidNext }, text: 'Predicted next UID' },
  );
  if (condstore) {
    out.push({ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: view.highestModseq }, text: 'Highest' });
  }
  if (session.rev2) {
    const all = await deps.store.listMailboxes(account.id);
    out.push({ kind: 'LIST', attributes: mailboxAttributes(mailbox, all), delimiter: '/', mailbox: session.toWire(mailbox.name) });
  }
  await session.send(...out);
  session.state = { kind: 'selected', account, mailbox, readOnly, view };
  session.savedSearch = [];
  const code = readOnly ? ({ kind: 'READ-ONLY' } as const) : ({ kind: 'READ-WRITE' } as const);
  return { status: 'OK', code, text: `${command.name} completed` };
}

export const selectHandler: Handler<CommandOf<'SELECT'>> = (ctx) => open(ctx, false);
export const examineHandler: Handler<CommandOf<'EXAMINE'>> = (ctx) => open(ctx, true);

export type SelectCommand = Extract<Command, { name: 'SELECT' | 'EXAMINE' }>;
