// ENVELOPE and BODY/BODYSTRUCTURE per RFC 9051's grammar (envelope,
// body-type-1part, body-type-mpart, body-fields, body-ext-*), from the MIME
// index of src/mime/types.ts.

import type { Address, Envelope, MimePart, ParamList } from '../../mime/types.js';
import type { WireWriter } from './wire.js';

function addresses(w: WireWriter, list: Address[] | null): void {
  if (!list || list.length === 0) {
    w.raw('NIL');
    return;
  }
  w.list(list, (a) => {
    w.raw('(').nstring(a.name).sp().nstring(a.adl).sp().nstring(a.mailbox).sp().nstring(a.host).raw(')');
  });
}

export function writeEnvelope(w: WireWriter, e: Envelope): void {
  w.raw('(').nstring(e.date).sp().nstring(e.subject);
  for (const list of [e.from, e.sender, e.replyTo, e.to, e.cc, e.bcc]) {
    w.sp();
    addresses(w, list);
  }
  w.sp().nstring(e.inReplyTo).sp().nstring(e.messageId).raw(')');
}

/** body-fld-param: ("name" "value" ...) or NIL when empty. */
function params(w: WireWriter, list: ParamList): void {
  if (list.length === 0) {
    w.raw('NIL');
    return;
  }
  w.list(list, ([name, value]) => {
    w.string(name).sp().string(value);
  });
}

/** body-fld-dsp SP body-fld-lang SP body-fld-loc */
function dispositionLanguageLocation(w: WireWriter, p: MimePart): void {
  if (p.disposition) {
    w.raw('(').string(p.disposition.type).sp();
    params(w, p.disposition.params);
    w.raw(')');
  } else {
    w.raw('NIL');
  }
  w.sp();
  if (!p.language || p.language.length === 0) w.raw('NIL');
  else if (p.language.length === 1) w.string(p.language[0]!);
  else w.list(p.language, (l) => w.string(l));
  w.sp().nstring(p.location);
}

/** Writes body (BODYSTRUCTURE when `extensible`, else the BODY form without extension data). */
export function writeBody(w: WireWriter, p: MimePart, extensible: boolean): void {
  const type = p.type.toUpperCase();
  const subtype = p.subtype.toUpperCase();
  w.raw('(');
  if (type === 'MULTIPART' && p.children && p.children.length > 0) {
    for (const child of p.children) writeBody(w, child, extensible);
    w.sp().string(subtype);
    if (extensible) {
      w.sp();
      params(w, p.params);
      w.sp();
      dispositionLanguageLocation(w, p);
    }
    w.raw(')');
    return;
  }
  // body-fields = param SP id SP desc SP enc SP octets
  w.string(type).sp().string(subtype).sp();
  params(w, p.params);
  w.sp().nstring(p.id).sp().nstring(p.description).sp().string(p.encoding.toUpperCase()).sp().raw(String(p.size));
  if (type === 'MESSAGE' && (subtype === 'RFC822' || subtype === 'GLOBAL') && p.message) {
    w.sp();
    writeEnvelope(w, p.message.envelope);
    w.sp();
    writeBody(w, p.message.root, extensible);
    w.sp().raw(String(p.lines));
  } else if (type === 'TEXT') {
    w.sp().raw(String(p.lines));
  }
  if (extensible) {
    w.sp().nstring(p.md5).sp();
    dispositionLanguageLocation(w, p);
  }
  w.raw(')');
}
