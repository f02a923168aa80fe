// SELECT / EXAMINE with CONDSTORE and QRESYNC parameters (RFC 7162).

import type { SelectParam } from '../ast.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

function qresync(r: Reader): SelectParam {
  r.sp('after QRESYNC');
  r.expect(0x28, "'(' after QRESYNC");
  const uidValidity = r.nzNumber('UIDVALIDITY');
  r.sp('after UIDVALIDITY');
  const modseq = r.nzNumber64('mod-sequence');
  let knownUids = null;
  let seqMatch = null;
  if (r.eat(0x20)) {
    if (r.peek() !== 0x28) {
      knownUids = r.sequenceSet();
      if (knownUids.kind === 'set' && knownUids.ranges.some((x) => x.start === '*' || x.end === '*')) {
        r.fail("'*' is not allowed in known UIDs");
      }
      if (r.eat(0x20)) seqMatch = seqMatchData(r);
    } else {
      seqMatch = seqMatchData(r);
    }
  }
  r.expect(0x29, "')' to end the QRESYNC parameters");
  return { kind: 'QRESYNC', uidValidity, modseq, knownUids, seqMatch };
}

function seqMatchData(r: Reader): { seqs: ReturnType<Reader['sequenceSet']>; uids: ReturnType<Reader['sequenceSet']> } {
  r.expect(0x28, "'(' to start the sequence match data");
  const seqs = r.sequenceSet();
  r.sp('between known sequence set and known UID set');
  const uids = r.sequenceSet();
  r.expect(0x29, "')' to end the sequence match data");
  return { seqs, uids };
}

function selectLike(name: 'SELECT' | 'EXAMINE'): CommandParser {
  return (r) => {
    r.sp(`after ${name}`);
    const mailbox = r.mailbox();
    const params: SelectParam[] = [];
    if (r.eat(0x20)) {
      r.list(
        () => {
          const p = r.keyword('SELECT parameter');
          if (p === 'CONDSTORE') params.push({ kind: 'CONDSTORE' });
          else if (p === 'QRESYNC') params.push(qresync(r));
          else r.fail(`Unknown ${name} parameter ${p}`);
        },
        `${name} parameters`,
      );
    }
    return { name, mailbox, params };
  };
}

export const selectParsers: Record<string, CommandParser> = {
  SELECT: selectLike('SELECT'),
  EXAMINE: selectLike('EXAMINE'),
};
