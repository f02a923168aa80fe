// Where an APPEND-family literal belongs, decided from the command text
// framed before it: message data is streamed into the ingest pipeline, but
// the astring of a CATENATE URL part (RFC 4469 5: url = "URL" SP astring)
// may also be a literal, and that one is a short string the parser must read.

import type { CommandPart } from './framing-types.js';

/** Commands whose literals are message data (RFC 3502 APPEND, RFC 8508 REPLACE). */
const MESSAGE_COMMANDS = new Set(['APPEND', 'REPLACE', 'UID REPLACE']);

/** The command's literals are message data (save a CATENATE URL: isCatenateUrlLiteral). */
export function carriesMessageLiterals(command: string | null): boolean {
  return command !== null && MESSAGE_COMMANDS.has(command);
}

/** The text just before the literal ends with the URL keyword (after SP or "(", as between cat-parts). */
const URL_BEFORE = /(?:^|[ (])URL $/i;
/** A CATENATE list was opened earlier in the command. */
const CATENATE_OPEN = /(?:^| )CATENATE \(/i;

/**
 * True when the literal announced after `parts` (the command framed so far;
 * the last part is the text of the current line before the literal header)
 * is a CATENATE URL. A false positive can only come from a command that
 * does not parse anyway (the literal is then read into memory, within the
 * memory literal limit); a mailbox named URL is not one: no CATENATE precedes it.
 */
export function isCatenateUrlLiteral(command: string | null, parts: readonly CommandPart[]): boolean {
  if (!carriesMessageLiterals(command)) return false;
  const last = parts[parts.length - 1];
  if (!last || last.kind !== 'text' || !URL_BEFORE.test(last.data.toString('latin1'))) return false;
  return parts.some((p) => p.kind === 'text' && CATENATE_OPEN.test(p.data.toString('latin1')));
}
