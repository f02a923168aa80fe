// RFC 4314 ACL commands (section 7):
//   setacl     = "SETACL" SP mailbox SP identifier SP mod-rights
//   deleteacl  = "DELETEACL" SP mailbox SP identifier
//   getacl     = "GETACL" SP mailbox
//   listrights = "LISTRIGHTS" SP mailbox SP identifier
//   myrights   = "MYRIGHTS" SP mailbox
//   identifier = astring;  mod-rights = astring
// Rights letters and identifier rules are checked by the handler (they are
// the server's policy, src/mail/acl.ts), not by the grammar.

import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

function mailboxAndIdentifier(r: Reader, command: string): { mailbox: string; identifier: string } {
  r.sp(`after ${command}`);
  const mailbox = r.mailbox();
  r.sp('after mailbox name');
  return { mailbox, identifier: r.astring('identifier') };
}

export const aclParsers: Record<string, CommandParser> = {
  SETACL: (r) => {
    const { mailbox, identifier } = mailboxAndIdentifier(r, 'SETACL');
    r.sp('after identifier');
    return { name: 'SETACL', mailbox, identifier, rights: r.astring('rights') };
  },
  DELETEACL: (r) => ({ name: 'DELETEACL', ...mailboxAndIdentifier(r, 'DELETEACL') }),
  GETACL: (r) => {
    r.sp('after GETACL');
    return { name: 'GETACL', mailbox: r.mailbox() };
  },
  LISTRIGHTS: (r) => ({ name: 'LISTRIGHTS', ...mailboxAndIdentifier(r, 'LISTRIGHTS') }),
  MYRIGHTS: (r) => {
    r.sp('after MYRIGHTS');
    return { name: 'MYRIGHTS', mailbox: r.mailbox() };
  },
};
