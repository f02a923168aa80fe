// BODY[section] support for the FETCH handler (RFC 9051 6.4.5): which part a
// section number names, which byte range of the blob answers it, and the
// HEADER.FIELDS filter. All pure; the blob is read by the caller.
//
// Nonexistent parts and invalid section texts give null: the server then
// answers the item with NIL... in practice Dovecot and Cyrus send an empty
// string; the FETCH handler decides (an empty literal is the safe choice).

import type { MessageIndex, MimePart } from './types.js';
import { splitHeaderFields } from './header.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME' | null;

export interface ByteRange {
  start: number;
  end: number;
}

/** Part `n` (1-based) of the body of a message whose root entity is `messageRoot`. */
function partOfMessage(messageRoot: MimePart, n: number): MimePart | null {
  if (messageRoot.children) return messageRoot.children[n - 1] ?? null;
  // A non-multipart message has exactly one part: its body.
  return n === 1 ? messageRoot : null;
}

/**
 * The part named by a section path. [] is the message itself (root); a
 * message/rfc822 part's numbers continue into its encapsulated message.
 */
export function resolvePart(root: MimePart, path: number[]): MimePart | null {
  if (path.length === 0) return root;
  let current = partOfMessage(root, path[0]!);
  for (let i = 1; i < path.length && current; i++) {
    const n = path[i]!;
    if (current.children) current = current.children[n - 1] ?? null;
    else if (current.message) current = partOfMessage(current.message.root, n);
    else current = null;
  }
  return current;
}

/**
 * The byte range of the blob that holds BODY[part.text] (before any partial
 * <origin.length>). HEADER.FIELDS(.NOT) give the whole header range; filter it
 * with filterHeaderFields. Null when the part does not exist or the section
 * text does not apply to it (HEADER/TEXT of a part that is not
 * message/rfc822, MIME of the whole message).
 */
export function sectionRange(index: MessageIndex, part: number[], text: SectionText): ByteRange | null {
  const root = index.root;
  if (part.length === 0) {
    switch (text) {
      case null:
        return { start: 0, end: index.size };
      case 'HEADER':
      case 'HEADER.FIELDS':
      case 'HEADER.FIELDS.NOT':
        return { start: root.headerStart, end: root.bodyStart };
      case 'TEXT':
        return { start: root.bodyStart, end: index.size };
      default:
        return null; // MIME needs a part number
    }
  }
  const target = resolvePart(root, part);
  if (!target) return null;
  switch (text) {
    case null:
      return { start: target.bodyStart, end: target.bodyEnd };
    case 'MIME':
      return { start: target.headerStart, end: target.bodyStart };
    case 'HEADER':
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const inner = target.message?.root;
      return inner ? { start: inner.headerStart, end: inner.bodyStart } : null;
    }
    case 'TEXT': {
      const inner = target.message?.root;
      return inner ? { start: inner.bodyStart, end: inner.bodyEnd } : null;
    }
    default:
      return null;
  }
}

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT: the fields of `headerBytes` whose name
 * matches (ASCII case-insensitively) one of `fields` (or, with `not`, none of
 * them), byte for byte with their folding, followed by the blank line (CRLF)
 * that RFC 9051 includes. Lines that are not fields are dropped.
 */
export function filterHeaderFields(headerBytes: Buffer, fields: string[], not: boolean): Buffer {
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const out: Buffer[] = [];
  for (const f of splitHeaderFields(headerBytes)) {
    if (wanted.has(f.name) === not) continue;
    const bytes = headerBytes.subarray(f.start, f.end);
    out.push(bytes);
    // A last field cut off without its line break still needs one before the blank line.
    if (bytes[bytes.length - 1] !== 0x0a) out.push(Buffer.from('\r\n'));
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}
