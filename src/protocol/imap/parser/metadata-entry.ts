// RFC 5464 entry names, shared by GETMETADATA and SETMETADATA:
//   entry = astring   ; slash-separated path, MUST NOT contain "*" or "%"
// Section 3.2: it starts with "/private" or "/shared", has no "//", does not
// end with "/", and holds no non-ASCII and no octets 0x00-0x19 (we also refuse
// DEL, 0x7F). An invalid name is a BAD. Entries have at least two components,
// four under "/private/vendor/" and "/shared/vendor/"; GETMETADATA may also
// name a scope alone ("/private", "/shared"), for use with DEPTH.

import type { Reader } from './reader.js';

/** Why `name` is not a valid entry name, or null if it is. `forSet`: it must name an entry, not a scope. */
export function entryNameProblem(name: string, forSet: boolean): string | null {
  if (!name.startsWith('/')) return 'must begin with "/"';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return 'must hold only printable ASCII characters';
    if (c === 0x2a || c === 0x25) return 'must not contain "*" or "%"';
  }
  if (name.includes('//')) return 'must not contain "//"';
  if (name.endsWith('/')) return 'must not end with "/"';
  const components = name.slice(1).split('/');
  const scope = components[0]!.toLowerCase();
  if (scope !== 'private' && scope !== 'shared') return 'must begin with /private or /shared';
  if (!forSet) return null;
  if (components.length < 2) return 'must name an entry below /private or /shared';
  if (components[1]!.toLowerCase() === 'vendor' && components.length < 4) return 'must have a name below /' + scope + '/vendor/<vendor-token>';
  return null;
}

/** entry = astring, checked as above; returned as sent. */
export function readEntry(r: Reader, forSet: boolean): string {
  const bytes = r.astringBytes('entry name');
  const name = bytes.toString('latin1');
  const problem = entryNameProblem(name, forSet);
  if (problem !== null) r.fail(`Invalid entry name ${JSON.stringify(name)}: ${problem}`);
  return name;
}
