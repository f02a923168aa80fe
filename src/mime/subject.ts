// Base subject extraction, RFC 5256 section 2.1 (SORT SUBJECT, THREAD
// ORDEREDSUBJECT/REFERENCES). Case is preserved: compare the results with
// i;unicode-casemap (e.g. after toLowerCase()).

import { decodeEncodedWords } from './encoded-words.js';

const TRAILER = /(?:\(fwd\)|[ ])$/i;
const BLOB = /^\[[^[\]]*\][ ]*/;
/** subj-leader: *subj-blob subj-refwd, where subj-refwd = ("re" / "fw" / "fwd") *WSP [subj-blob] ":". */
const REFWD_LEADER = /^(?:\[[^[\]]*\][ ]*)*(?:re|fwd?)[ ]*(?:\[[^[\]]*\][ ]*)?:[ ]*/i;

export function baseSubject(subject: string | null | undefined): string {
  // (1) decode, tabs and line breaks to spaces, runs of spaces to one.
  let s = decodeEncodedWords(subject ?? '')
    .replace(/[\t\r\n]/g, ' ')
    .replace(/ {2,}/g, ' ');
  for (let guard = 0; guard < 100; guard++) {
    // (2) trailing "(fwd)" and spaces.
    while (TRAILER.test(s)) s = s.replace(TRAILER, '');
    // (3)-(5) leading "Re:", "[list]" blobs and spaces.
    for (;;) {
      const before = s;
      s = s.replace(/^ +/, '');
      const leader = REFWD_LEADER.exec(s);
      if (leader) s = s.slice(leader[0].length);
      const blob = BLOB.exec(s);
      if (blob && s.length > blob[0].length) s = s.slice(blob[0].length);
      if (s === before) break;
    }
    // (6) "[fwd: ... ]" wrapper.
    if (/^\[fwd:/i.test(s) && s.endsWith(']')) {
      s = s.slice(5, -1);
      continue;
    }
    break;
  }
  return s;
}
