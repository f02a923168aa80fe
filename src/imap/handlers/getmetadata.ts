// GETMETADATA (RFC 5464 4.2): one METADATA response with every requested
// entry (NIL when it has no value) and, with DEPTH 1 / infinity, the entries
// below it. MAXSIZE leaves out longer values and reports the longest left
// out as [METADATA LONGENTRIES n] on the tagged OK.

import { canonicalEntryName, selectEntries, type MetadataEntry } from '../../mail/metadata.js';
import type { CommandOf, Handler } from '../context.js';
import { configuredServerEntries, metadataPlace } from '../metadata.js';

export const getmetadataHandler: Handler<CommandOf<'GETMETADATA'>> = async (ctx) => {
  const { command, session } = ctx;
  const place = await metadataPlace(ctx, command.mailbox, 'get');
  const requested = command.entries.map(canonicalEntryName);
  let found: MetadataEntry[] = await place.store.getMetadata(place.target, requested, { depth: command.depth });
  if (place.mailbox === null) {
    // The configured server entries stand in for any stored under the same name.
    const configured = configuredServerEntries(ctx);
    const names = new Set(configured.map((e) => e.name));
    found = [...found.filter((e) => !names.has(e.name)), ...configured];
  }
  let longest = -1;
  const entries = selectEntries(requested, found, command.depth).filter((e) => {
    if (command.maxSize === null || e.value === null || e.value.length <= command.maxSize) return true;
    longest = Math.max(longest, e.value.length);
    return false;
  });
  if (entries.length > 0) await session.send({ kind: 'METADATA', mailbox: place.wireName, entries });
  if (longest >= 0) return { status: 'OK', code: { kind: 'METADATA', detail: { kind: 'LONGENTRIES', size: longest } }, text: 'GETMETADATA completed' };
  return { status: 'OK', text: 'GETMETADATA completed' };
};
