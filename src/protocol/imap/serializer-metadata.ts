// RFC 5464 4.4.1: "* METADATA mailbox (entry value *(SP entry value))".
// Entry names go as atoms when they can (they are printable ASCII, but may
// hold SP, quotes or parentheses), else as strings; values are nstring, and
// literal8 when they hold NUL (value = nstring / literal8).

import type { WireWriter } from './wire.js';

const ENTRY_ATOM = /^[!#$&'+-[^-z|~]+$/;

export function writeMetadataEntries(w: WireWriter, entries: ReadonlyArray<{ name: string; value: Buffer | null }>): void {
  w.list(entries, (e) => {
    if (ENTRY_ATOM.test(e.name) && e.name.toUpperCase() !== 'NIL') w.raw(e.name);
    else w.string(e.name);
    w.sp();
    if (e.value !== null && e.value.includes(0)) w.literal(e.value, true);
    else w.nstring(e.value);
  });
}

/** RFC 5464 4.4.2 entry-list: "entry *(SP entry)", for unsolicited METADATA responses. */
export function writeMetadataEntryList(w: WireWriter, entries: ReadonlyArray<{ name: string }>): void {
  entries.forEach((e, i) => {
    if (i > 0) w.sp();
    if (ENTRY_ATOM.test(e.name) && e.name.toUpperCase() !== 'NIL') w.raw(e.name);
    else w.string(e.name);
  });
}
