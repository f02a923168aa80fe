// THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT, REFERENCES, and Dovecot's REFS.

import type { CommandOf, Handler } from '../context.js';
import { threadOrderedSubject, threadReferences, threadRefs } from '../threading.js';
import { checkCharset, loadSortable } from '../search-query.js';

export const threadHandler: Handler<CommandOf<'THREAD'>> = async ({ session, command }) => {
  checkCharset(command.charset);
  // THREAD responses are unchanged by CONDSTORE (RFC 7162 3.1.9).
  const { messages } = await loadSortable(session, command.key, command.uid, true);
  const algorithms = { ORDEREDSUBJECT: threadOrderedSubject, REFERENCES: threadReferences, REFS: threadRefs };
  const threads = algorithms[command.algorithm](messages);
  await session.send({ kind: 'THREAD', threads });
  return { status: 'OK', text: `${command.uid ? 'UID ' : ''}THREAD completed` };
};
