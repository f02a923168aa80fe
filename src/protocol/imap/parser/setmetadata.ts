// SETMETADATA (RFC 5464 4.3, 5):
//   setmetadata  = "SETMETADATA" SP mailbox SP entry-values
//   entry-values = "(" entry-value *(SP entry-value) ")"
//   entry-value  = entry SP value
//   value        = nstring / literal8     ; NIL removes the entry

import type { MetadataEntryValue } from '../ast.js';
import { readEntry } from './metadata-entry.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

function entryValue(r: Reader): MetadataEntryValue {
  const entry = readEntry(r, true);
  r.sp('after entry name');
  return { entry, value: r.nstring('entry value') };
}

export const setmetadataParsers: Record<string, CommandParser> = {
  SETMETADATA: (r) => {
    r.sp('after SETMETADATA');
    const mailbox = r.mailbox();
    r.sp('after mailbox name');
    return { name: 'SETMETADATA', mailbox, entries: r.list(() => entryValue(r), 'entry-value list') };
  },
};
