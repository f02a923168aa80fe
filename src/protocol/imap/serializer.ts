// Typed responses -> RFC 9051 bytes. Body data that is streamed is returned
// as the StreamedLiteral itself, right after its "{n}\r\n" header.

import type { FetchItem, ListResponse, Response, ResponseCode, SerializeOptions, WirePart } from './response.js';
import { formatDateTime } from './datetime.js';
import { formatSequenceSet } from './sequence.js';
import { writeBody, writeEnvelope } from './serializer-body.js';
import { writeFetchRun } from './serializer-fetch-run.js';
import { writeMetadataEntries, writeMetadataEntryList } from './serializer-metadata.js';
import { WireWriter } from './wire.js';
import { formatThreads } from './thread-format.js';

export { canQuote, MAX_QUOTED } from './wire.js';

function writeCode(w: WireWriter, code: ResponseCode): void {
  w.raw('[');
  switch (code.kind) {
    case 'APPENDUID':
      w.raw(`APPENDUID ${code.uidValidity} ${formatSequenceSet(code.uids)}`);
      break;
    case 'COPYUID':
      w.raw(`COPYUID ${code.uidValidity} ${formatSequenceSet(code.source)} ${formatSequenceSet(code.target)}`);
      break;
    case 'BADCHARSET':
      w.raw('BADCHARSET');
      if (code.charsets.length > 0) w.sp().list(code.charsets, (c) => w.string(c));
      break;
    case 'CAPABILITY':
      w.raw(['CAPABILITY', ...code.capabilities].join(' '));
      break;
    case 'HIGHESTMODSEQ':
      w.raw(`HIGHESTMODSEQ ${code.modseq}`);
      break;
    case 'MODIFIED':
      w.raw(`MODIFIED ${formatSequenceSet(code.set)}`);
      break;
    case 'PERMANENTFLAGS':
      w.raw(`PERMANENTFLAGS (${code.flags.join(' ')})`);
      break;
    case 'UIDNEXT':
      w.raw(`UIDNEXT ${code.uid}`);
      break;
    case 'UIDVALIDITY':
      w.raw(`UIDVALIDITY ${code.uidValidity}`);
      break;
    case 'UNSEEN':
      w.raw(`UNSEEN ${code.seq}`);
      break;
    case 'MAILBOXID':
      w.raw(`MAILBOXID (${code.id})`);
      break;
    case 'METADATA':
      w.raw('size' in code.detail ? `METADATA ${code.detail.kind} ${code.detail.size}` : `METADATA ${code.detail.kind}`);
      break;
    case 'BADURL':
      w.raw(`BADURL ${urlRespText(code.url)}`);
      break;
    case 'BADEVENT':
      w.raw(`BADEVENT (${code.events.join(' ')})`);
      break;
    case 'NOUPDATE':
      w.raw('NOUPDATE ').quoted(Buffer.from(code.tag, 'utf8'));
      break;
    default:
      w.raw(code.kind);
  }
  w.raw('] ');
}

/** url-resp-text (RFC 4469 5): TEXT-CHARs except "]"; others are %-encoded, which leaves the URL's meaning alone. */
function urlRespText(url: string): string {
  const out = Buffer.from(url, 'utf8').toString('latin1').replace(/[\x00-\x20\]\x7f-\xff]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
  return out === '' ? '%20' : out;
}

function writeStatusLine(w: WireWriter, prefix: string, status: string, code: ResponseCode | undefined, text: string): void {
  w.raw(`${prefix} ${status} `);
  if (code) writeCode(w, code);
  w.text(text).crlf();
}

/**
 * Mailbox names go as atoms when they can (as most servers send them, and as
 * naive LIST parsers expect), else quoted, else as a literal. "NIL" must be
 * quoted: as an atom it would read as nil.
 */
const MAILBOX_ATOM = /^[!#$&'+-[^-z|~]+$/;
function mailbox(w: WireWriter, name: string): void {
  if (MAILBOX_ATOM.test(name) && name.toUpperCase() !== 'NIL') w.raw(name);
  else w.string(name);
}

function delimiter(w: WireWriter, d: string | null): void {
  if (d === null) w.raw('NIL');
  else w.quoted(Buffer.from(d, 'utf8'));
}

function writeList(w: WireWriter, r: ListResponse): void {
  w.raw(`* ${r.kind} (${r.attributes.join(' ')}) `);
  delimiter(w, r.delimiter);
  w.sp();
  mailbox(w, r.mailbox);
  const hasChildInfo = r.childInfo !== undefined && r.childInfo.length > 0;
  if (hasChildInfo || r.oldName !== undefined) {
    w.raw(' (');
    if (hasChildInfo) {
      w.raw('"CHILDINFO" ').list(r.childInfo!, (c) => w.string(c));
      if (r.oldName !== undefined) w.sp();
    }
    if (r.oldName !== undefined) {
      w.raw('"OLDNAME" (');
      mailbox(w, r.oldName);
      w.raw(')');
    }
    w.raw(')');
  }
  w.crlf();
}

function fetchItem(w: WireWriter, item: FetchItem): void {
  switch (item.kind) {
    case 'UID':
      w.raw(`UID ${item.uid}`);
      return;
    case 'FLAGS':
      w.raw(`FLAGS (${item.flags.join(' ')})`);
      return;
    case 'INTERNALDATE':
      w.raw(`INTERNALDATE "${formatDateTime(item.date, item.offsetMinutes ?? 0)}"`);
      return;
    case 'RFC822.SIZE':
      w.raw(`RFC822.SIZE ${item.size}`);
      return;
    case 'ENVELOPE':
      w.raw('ENVELOPE ');
      writeEnvelope(w, item.envelope);
      return;
    case 'BODYSTRUCTURE':
    case 'BODY':
      w.raw(`${item.kind} `);
      writeBody(w, item.body, item.kind === 'BODYSTRUCTURE');
      return;
    case 'MODSEQ':
      w.raw(`MODSEQ (${item.modseq})`);
      return;
    case 'SAVEDATE':
      w.raw(item.date === null ? 'SAVEDATE NIL' : `SAVEDATE "${formatDateTime(item.date, item.offsetMinutes ?? 0)}"`);
      return;
    case 'EMAILID':
      w.raw(`EMAILID (${item.id})`);
      return;
    case 'THREADID':
      w.raw(item.id === null ? 'THREADID NIL' : `THREADID (${item.id})`);
      return;
    case 'PREVIEW':
      if (item.fuzzy) w.raw(`${item.fuzzy} (FUZZY `).nstring(item.text).raw(')');
      else w.raw('PREVIEW ').nstring(item.text);
      return;
    case 'BINARY.SIZE':
      w.raw(`BINARY.SIZE[${item.part.join('.')}] ${item.size}`);
      return;
    case 'data': {
      w.raw(`${item.name} `);
      const data = item.data;
      if (data === null) w.raw('NIL');
      else if (Buffer.isBuffer(data)) w.literal(data, item.binary === true);
      else w.stream(data, item.binary === true || data.binary);
      return;
    }
  }
}

/** The items of a FETCH response, SP between (a plain loop: FETCH 1:* writes one response per message). */
function fetchItems(w: WireWriter, items: readonly FetchItem[]): void {
  for (let i = 0; i < items.length; i++) {
    if (i > 0) w.raw(' ');
    fetchItem(w, items[i]!);
  }
}

type Namespace = Array<{ prefix: string; delimiter: string | null }> | null;

function namespace(w: WireWriter, ns: Namespace): void {
  if (!ns || ns.length === 0) {
    w.raw('NIL');
    return;
  }
  w.raw('(');
  for (const n of ns) {
    w.raw('(').string(n.prefix).sp();
    delimiter(w, n.delimiter);
    w.raw(')');
  }
  w.raw(')');
}

function write(w: WireWriter, r: Response): void {
  switch (r.kind) {
    case 'tagged':
      writeStatusLine(w, r.tag, r.status, r.code, r.text);
      return;
    case 'status':
      writeStatusLine(w, '*', r.status, r.code, r.text);
      return;
    case 'continuation':
      w.raw('+ ').text(r.text).crlf();
      return;
    case 'CAPABILITY':
    case 'ENABLED':
      w.raw(['*', r.kind, ...r.capabilities].join(' ')).crlf();
      return;
    case 'EXISTS':
    case 'RECENT':
      w.raw(`* ${r.count} ${r.kind}`).crlf();
      return;
    case 'EXPUNGE':
      w.raw(`* ${r.seq} EXPUNGE`).crlf();
      return;
    case 'VANISHED':
      w.raw(`* VANISHED ${r.earlier ? '(EARLIER) ' : ''}${formatSequenceSet(r.uids)}`).crlf();
      return;
    case 'FLAGS':
      w.raw(`* FLAGS (${r.flags.join(' ')})`).crlf();
      return;
    case 'LIST':
    case 'LSUB':
      writeList(w, r);
      return;
    case 'STATUS': {
      w.raw('* STATUS ');
      mailbox(w, r.mailbox);
      const items: string[] = [];
      for (const [name, value] of Object.entries(r.values)) {
        if (value === undefined) continue;
        items.push(name === 'MAILBOXID' ? `${name} (${value})` : `${name} ${value}`);
      }
      w.raw(` (${items.join(' ')})`).crlf();
      return;
    }
    case 'SEARCH':
      w.raw(['* SEARCH', ...r.numbers.map(String)].join(' '));
      if (r.modseq !== undefined) w.raw(` (MODSEQ ${r.modseq})`);
      w.crlf();
      return;
    case 'ESEARCH':
      w.raw('* ESEARCH');
      if (r.tag !== null) w.raw(' (TAG ').string(r.tag).raw(')');
      if (r.uid) w.raw(' UID');
      if (r.min !== undefined) w.raw(` MIN ${r.min}`);
      if (r.max !== undefined) w.raw(` MAX ${r.max}`);
      if (r.count !== undefined) w.raw(` COUNT ${r.count}`);
      if (r.all !== undefined) w.raw(` ALL ${formatSequenceSet(r.all)}`);
      if (r.modseq !== undefined) w.raw(` MODSEQ ${r.modseq}`);
      if (r.partial !== undefined) {
        const set = r.partial.set === null ? 'NIL' : formatSequenceSet(r.partial.set);
        w.raw(` PARTIAL (${r.partial.range.start}:${r.partial.range.end} ${set})`);
      }
      // RFC 5267 4.3.2: processed in order, so REMOVEFROM (told before the EXPUNGE it explains) comes first.
      if (r.removeFrom) w.raw(` REMOVEFROM (${r.removeFrom.map((p) => `${p.position} ${formatSequenceSet(p.set)}`).join(' ')})`);
      if (r.addTo) w.raw(` ADDTO (${r.addTo.map((p) => `${p.position} ${formatSequenceSet(p.set)}`).join(' ')})`);
      w.crlf();
      return;
    case 'SORT':
      w.raw(['* SORT', ...r.numbers.map(String)].join(' '));
      if (r.modseq !== undefined) w.raw(` (MODSEQ ${r.modseq})`);
      w.crlf();
      return;
    case 'THREAD': {
      const threads = formatThreads(r.threads);
      w.raw(threads === '' ? '* THREAD' : `* THREAD ${threads}`).crlf();
      return;
    }
    case 'FETCH':
      w.raw(`* ${r.seq} FETCH (`);
      fetchItems(w, r.items);
      w.raw(')\r\n');
      return;
    case 'FETCH-RUN':
      writeFetchRun(w, r);
      return;
    case 'UIDFETCH':
      w.raw(`* ${r.uid} UIDFETCH (`);
      fetchItems(w, r.items);
      w.raw(')\r\n');
      return;
    case 'NAMESPACE':
      w.raw('* NAMESPACE ');
      namespace(w, r.personal);
      w.sp();
      namespace(w, r.otherUsers);
      w.sp();
      namespace(w, r.shared);
      w.crlf();
      return;
    case 'QUOTA':
      w.raw('* QUOTA ').string(r.root).sp();
      w.raw(`(${r.resources.map((x) => `${x.name} ${x.usage} ${x.limit}`).join(' ')})`).crlf();
      return;
    case 'METADATA':
      w.raw('* METADATA ');
      mailbox(w, r.mailbox);
      w.sp();
      // Unsolicited (RFC 5464 4.4.2, RFC 5465 5.6/5.7): entry names only.
      if (r.namesOnly) writeMetadataEntryList(w, r.entries);
      else writeMetadataEntries(w, r.entries);
      w.crlf();
      return;
    case 'ACL':
      w.raw('* ACL ');
      mailbox(w, r.mailbox);
      // Identifiers and rights are astrings: atoms where they can be (as in RFC 4314's examples).
      for (const e of r.entries) {
        w.sp();
        mailbox(w, e.identifier);
        w.sp();
        mailbox(w, e.rights);
      }
      w.crlf();
      return;
    case 'LISTRIGHTS':
      w.raw('* LISTRIGHTS ');
      mailbox(w, r.mailbox);
      w.sp();
      mailbox(w, r.identifier);
      w.sp();
      mailbox(w, r.required);
      for (const o of r.optional) {
        w.sp();
        mailbox(w, o);
      }
      w.crlf();
      return;
    case 'MYRIGHTS':
      w.raw('* MYRIGHTS ');
      mailbox(w, r.mailbox);
      w.sp();
      mailbox(w, r.rights);
      w.crlf();
      return;
    case 'QUOTAROOT':
      w.raw('* QUOTAROOT ');
      mailbox(w, r.mailbox);
      for (const root of r.roots) w.sp().string(root);
      w.crlf();
      return;
    case 'ID':
      w.raw('* ID ');
      if (r.params === null || r.params.length === 0) w.raw('NIL');
      else
        w.list(r.params, ([name, value]) => {
          w.string(name).sp().nstring(value);
        });
      w.crlf();
      return;
  }
}

/** Serialises one response (with its CRLF). */
export function serializeResponse(r: Response, opts: SerializeOptions): WirePart[] {
  return serializeResponses([r], opts);
}

/** Serialises responses in order into as few parts as their streamed literals allow. */
export function serializeResponses(responses: readonly Response[], opts: SerializeOptions): WirePart[] {
  const w = new WireWriter(opts);
  for (const r of responses) write(w, r);
  return w.finish();
}

/** Joins serialised parts into one Buffer; for tests and responses known to hold no stream. */
export function wireToBuffer(parts: WirePart[]): Buffer {
  return Buffer.concat(parts.map((p) => {
    if (!Buffer.isBuffer(p)) throw new Error('wireToBuffer: response contains a streamed literal');
    return p;
  }));
}
