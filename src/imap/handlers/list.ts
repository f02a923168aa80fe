// LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819)
// and SPECIAL-USE (RFC 6154).

import type { MailboxInfo } from '../../mail/types.js';
import type { Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { ancestors, compareNames, compilePattern, mailboxAttributes } from '../list-tree.js';
import { statusValues } from './status.js';

interface Entry {
  name: string;
  attributes: string[];
  childInfo?: string[];
  mailbox: MailboxInfo | null;
}

export const listHandler: Handler<CommandOf<'LIST'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const reference = session.fromWireLoose(command.reference);
  const patterns = command.patterns.map((p) => session.fromWireLoose(p));

  // LIST "" "": the hierarchy delimiter and root (RFC 9051 6.3.9).
  if (patterns.length === 1 && patterns[0] === '' && !command.extended) {
    await session.send({ kind: 'LIST', attributes: ['\\Noselect'], delimiter: '/', mailbox: '' });
    return { status: 'OK', text: 'LIST completed' };
  }

  const matchers = patterns.filter((p) => p !== '').map((p) => compilePattern(reference + p));
  const matches = (name: string): boolean => matchers.some((m) => m(name));
  const selSubscribed = command.selection.includes('SUBSCRIBED');
  const selSpecialUse = command.selection.includes('SPECIAL-USE');
  const recursive = command.selection.includes('RECURSIVEMATCH');
  const retSubscribed = selSubscribed || command.returns.some((r) => r.kind === 'SUBSCRIBED');
  const retStatus = command.returns.find((r) => r.kind === 'STATUS');

  // Personal mailboxes, and other users' and shared ones the user may look up ("l", RFC 4314 4), by the names the client sees.
  const visible = await session.access.visible();
  const all = visible.map((v) => v.info).sort((a, b) => compareNames(a.name, b.name));
  const refs = new Map(visible.map((v) => [v.info.name, v.ref]));
  const byName = new Map(all.map((m) => [m.name, m]));
  const subscribed = new Set(retSubscribed || selSubscribed ? await session.home.store.listSubscriptions(account.id) : []);

  const entries = new Map<string, Entry>();
  const add = (name: string, mailbox: MailboxInfo | null, extra: string[] = []): Entry => {
    let e = entries.get(name);
    if (!e) {
      const attrs = mailbox ? mailboxAttributes(mailbox, all) : ['\\NonExistent'];
      e = { name, attributes: [...attrs, ...extra], mailbox };
      entries.set(name, e);
    }
    return e;
  };

  if (selSubscribed) {
    for (const name of [...subscribed].sort(compareNames)) {
      const mailbox = byName.get(name) ?? null;
      if (selSpecialUse && !mailbox?.specialUse) continue;
      if (matches(name)) add(name, mailbox);
      if (!recursive) continue;
      // A matching parent that is not itself selected learns it has subscribed children.
      for (const parent of ancestors(name)) {
        if (!matches(parent) || subscribed.has(parent)) continue;
        const e = add(parent, byName.get(parent) ?? null);
        e.childInfo = ['SUBSCRIBED'];
      }
    }
  } else {
    for (const mailbox of all) {
      if (selSpecialUse && !mailbox.specialUse) continue;
      if (matches(mailbox.name)) add(mailbox.name, mailbox);
    }
  }

  const out: Response[] = [];
  for (const e of [...entries.values()].sort((a, b) => compareNames(a.name, b.name))) {
    const attributes = [...e.attributes];
    if (retSubscribed && subscribed.has(e.name)) attributes.push('\\Subscribed');
    out.push({
      kind: 'LIST',
      attributes,
      delimiter: '/',
      mailbox: session.toWire(e.name),
      ...(e.childInfo ? { childInfo: e.childInfo } : {}),
    });
    const ref = refs.get(e.name);
    if (retStatus && retStatus.kind === 'STATUS' && ref?.mailbox && ref.mailbox.selectable && ref.rights.includes('r')) {
      try {
        const values = await statusValues(ref.repository, ref.mailbox, retStatus.items, deps.config.limits.maxMessageSize);
        out.push({ kind: 'STATUS', mailbox: session.toWire(e.name), values });
      } catch (err) {
        // RFC 5819: the STATUS reply may be dropped when it cannot be computed.
        session.log.warn('LIST-STATUS failed', { mailbox: e.name, err: err instanceof Error ? err : String(err) });
      }
    }
    if (out.length >= 64) await session.send(...out.splice(0));
  }
  if (out.length > 0) await session.send(...out);
  return { status: 'OK', text: 'LIST completed' };
};
