// The command registry, as data: which states a command is allowed in, and
// how it relates to message sequence numbers. The session's one gate reads it
// before every handler, and decides from the flags when EXPUNGE may be sent.

import type { Command, CommandName } from '../protocol/imap/ast.js';
import type { Handler, StateKind } from './context.js';
import { appendHandler } from './handlers/append.js';
import { authenticateHandler } from './handlers/authenticate.js';
import { cancelUpdateHandler } from './handlers/cancelupdate.js';
import { capabilityHandler } from './handlers/capability.js';
import { checkHandler } from './handlers/check.js';
import { closeHandler } from './handlers/close.js';
import { compressHandler } from './handlers/compress.js';
import { copyHandler } from './handlers/copy.js';
import { createHandler } from './handlers/create.js';
import { deleteHandler } from './handlers/delete.js';
import { enableHandler } from './handlers/enable.js';
import { expungeHandler } from './handlers/expunge.js';
import { fetchHandler } from './handlers/fetch.js';
import { getquotaHandler } from './handlers/getquota.js';
import { getquotarootHandler } from './handlers/getquotaroot.js';
import { deleteaclHandler } from './handlers/deleteacl.js';
import { getaclHandler } from './handlers/getacl.js';
import { listrightsHandler } from './handlers/listrights.js';
import { myrightsHandler } from './handlers/myrights.js';
import { setaclHandler } from './handlers/setacl.js';
import { getmetadataHandler } from './handlers/getmetadata.js';
import { setmetadataHandler } from './handlers/setmetadata.js';
import { idHandler } from './handlers/id.js';
import { idleHandler } from './handlers/idle.js';
import { listHandler } from './handlers/list.js';
import { loginHandler } from './handlers/login.js';
import { logoutHandler } from './handlers/logout.js';
import { lsubHandler } from './handlers/lsub.js';
import { moveHandler } from './handlers/move.js';
import { namespaceHandler } from './handlers/namespace.js';
import { noopHandler } from './handlers/noop.js';
import { notifyHandler } from './handlers/notify.js';
import { renameHandler } from './handlers/rename.js';
import { replaceHandler } from './handlers/replace.js';
import { searchHandler } from './handlers/search.js';
import { sortHandler } from './handlers/sort.js';
import { threadHandler } from './handlers/thread.js';
import { examineHandler, selectHandler } from './handlers/select.js';
import { setquotaHandler } from './handlers/setquota.js';
import { starttlsHandler } from './handlers/starttls.js';
import { statusHandler } from './handlers/status.js';
import { storeHandler } from './handlers/store.js';
import { subscribeHandler, unsubscribeHandler } from './handlers/subscribe.js';
import { uidExpungeHandler } from './handlers/uid-expunge.js';
import { unselectHandler } from './handlers/unselect.js';
import { searchKeyUses } from './search-query.js';

export interface CommandSpec {
  states: readonly StateKind[];
  /**
   * The command addresses messages by sequence number (in its non-UID form):
   * no EXPUNGE may be sent while it runs (RFC 9051 7.5.1); they are held.
   */
  usesSequenceNumbers: boolean;
  /** The command may change sequence numbers (EXPUNGE responses), so a following MSN command must wait for it. */
  breaksSequenceNumbers: boolean;
  /** Always pull the change log when the command completes (NOOP/CHECK/IDLE poll). */
  polls: boolean;
  handler: Handler<any>;
}

const ANY: readonly StateKind[] = ['not-authenticated', 'authenticated', 'selected'];
const NOT_AUTH: readonly StateKind[] = ['not-authenticated'];
const AUTH: readonly StateKind[] = ['authenticated', 'selected'];
const SELECTED: readonly StateKind[] = ['selected'];

function spec(states: readonly StateKind[], handler: Handler<any>, flags: Partial<Omit<CommandSpec, 'states' | 'handler'>> = {}): CommandSpec {
  return {
    states,
    handler,
    usesSequenceNumbers: flags.usesSequenceNumbers ?? false,
    breaksSequenceNumbers: flags.breaksSequenceNumbers ?? false,
    polls: flags.polls ?? false,
  };
}

export const REGISTRY: Readonly<Record<CommandName, CommandSpec>> = {
  CAPABILITY: spec(ANY, capabilityHandler),
  NOOP: spec(ANY, noopHandler, { polls: true, breaksSequenceNumbers: true }),
  LOGOUT: spec(ANY, logoutHandler),
  ID: spec(ANY, idHandler),
  STARTTLS: spec(NOT_AUTH, starttlsHandler),
  AUTHENTICATE: spec(NOT_AUTH, authenticateHandler),
  LOGIN: spec(NOT_AUTH, loginHandler),
  ENABLE: spec(AUTH, enableHandler),
  SELECT: spec(AUTH, selectHandler, { breaksSequenceNumbers: true }),
  EXAMINE: spec(AUTH, examineHandler, { breaksSequenceNumbers: true }),
  CREATE: spec(AUTH, createHandler),
  DELETE: spec(AUTH, deleteHandler),
  RENAME: spec(AUTH, renameHandler),
  SUBSCRIBE: spec(AUTH, subscribeHandler),
  UNSUBSCRIBE: spec(AUTH, unsubscribeHandler),
  LIST: spec(AUTH, listHandler),
  LSUB: spec(AUTH, lsubHandler),
  NAMESPACE: spec(AUTH, namespaceHandler),
  STATUS: spec(AUTH, statusHandler),
  APPEND: spec(AUTH, appendHandler),
  IDLE: spec(AUTH, idleHandler, { polls: true, breaksSequenceNumbers: true }),
  COMPRESS: spec(AUTH, compressHandler),
  GETQUOTA: spec(AUTH, getquotaHandler),
  GETQUOTAROOT: spec(AUTH, getquotarootHandler),
  SETACL: spec(AUTH, setaclHandler),
  DELETEACL: spec(AUTH, deleteaclHandler),
  GETACL: spec(AUTH, getaclHandler),
  LISTRIGHTS: spec(AUTH, listrightsHandler),
  MYRIGHTS: spec(AUTH, myrightsHandler),
  SETQUOTA: spec(AUTH, setquotaHandler),
  GETMETADATA: spec(AUTH, getmetadataHandler),
  SETMETADATA: spec(AUTH, setmetadataHandler),
  // RFC 5465 3.1: a successful NOTIFY SET implies a NOOP.
  NOTIFY: spec(AUTH, notifyHandler, { polls: true, breaksSequenceNumbers: true }),
  CANCELUPDATE: spec(SELECTED, cancelUpdateHandler),
  CHECK: spec(SELECTED, checkHandler, { polls: true, breaksSequenceNumbers: true }),
  CLOSE: spec(SELECTED, closeHandler, { breaksSequenceNumbers: true }),
  UNSELECT: spec(SELECTED, unselectHandler, { breaksSequenceNumbers: true }),
  EXPUNGE: spec(SELECTED, expungeHandler, { breaksSequenceNumbers: true }),
  'UID EXPUNGE': spec(SELECTED, uidExpungeHandler, { breaksSequenceNumbers: true }),
  SEARCH: spec(SELECTED, searchHandler, { usesSequenceNumbers: true }),
  SORT: spec(SELECTED, sortHandler, { usesSequenceNumbers: true }),
  THREAD: spec(SELECTED, threadHandler, { usesSequenceNumbers: true }),
  FETCH: spec(SELECTED, fetchHandler, { usesSequenceNumbers: true }),
  STORE: spec(SELECTED, storeHandler, { usesSequenceNumbers: true }),
  COPY: spec(SELECTED, copyHandler, { usesSequenceNumbers: true }),
  MOVE: spec(SELECTED, moveHandler, { usesSequenceNumbers: true, breaksSequenceNumbers: true }),
  REPLACE: spec(SELECTED, replaceHandler, { usesSequenceNumbers: true, breaksSequenceNumbers: true }),
};

/** True when EXPUNGE responses may not be sent while (or at the end of) this command. */
export function holdsExpunges(command: Command): boolean {
  const s = REGISTRY[command.name];
  if (!s.usesSequenceNumbers) return false;
  // UID FETCH/STORE/SEARCH/COPY/MOVE may see EXPUNGE responses (RFC 9051 7.5.1 note),
  // except a UID SEARCH whose criteria hold sequence numbers (RFC 7162 3.2.10.2).
  if (command.name === 'SEARCH' && command.uid) return searchKeyUses(command.key, 'seq');
  if ('uid' in command && command.uid) return false;
  // MOVE by MSN sends its own EXPUNGEs; other sessions' expunges wait for the next command.
  return true;
}

/** True for the UID forms: unsolicited FETCH responses then carry the UID. */
export function isUidCommand(command: Command): boolean {
  return command.name === 'UID EXPUNGE' || ('uid' in command && command.uid === true);
}
