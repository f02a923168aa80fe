// SETMETADATA (RFC 5464 4.3): sets or (NIL) removes entries, all or none.
// Too large a value: NO [METADATA MAXSIZE n]; too many entries: NO [METADATA
// TOOMANY]. The server's /shared entries are the administrator's: NO [NOPERM].
// No METADATA response is sent (the RFC says it SHOULD NOT be).

import { entryScope, canonicalEntryName } from '../../mail/metadata.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import { metadataLimits, metadataPlace, setMetadataError } from '../metadata.js';

export const setmetadataHandler: Handler<CommandOf<'SETMETADATA'>> = async (ctx) => {
  const { command } = ctx;
  const place = await metadataPlace(ctx, command.mailbox, 'set');
  const changes = command.entries.map((e) => ({ name: canonicalEntryName(e.entry), value: e.value }));
  if (place.mailbox === null && changes.some((c) => entryScope(c.name) === 'shared'))
    throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: 'Server /shared annotations are set by the administrator' });
  const limits = metadataLimits(ctx);
  try {
    await place.store.setMetadata(place.target, changes, limits);
  } catch (err) {
    const result = setMetadataError(err, limits);
    if (result) return result;
    throw err;
  }
  // Other sessions' NOTIFY MailboxMetadataChange / ServerMetadataChange (RFC 5465 5.6, 5.7) re-read on this event.
  const owner = place.mailbox?.accountId ?? ctx.session.account!.id;
  ctx.session.publishMailboxesChanged({ repository: place.mailbox ? place.repository : ctx.session.home.repository, owner: { id: owner } });
  return { status: 'OK', text: 'SETMETADATA completed' };
};
