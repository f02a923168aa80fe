// THREAD response data (RFC 5256 section 4):
//   thread-list    = "(" (thread-members / thread-nested) ")"
//   thread-members = nz-number *(SP nz-number) [SP thread-nested]
//   thread-nested  = 2*thread-list
// A chain of only children is written flat ("3 6"), a split as nested lists.

import type { ThreadNode } from './response.js';

/** The contents of one thread-list (without its outer parentheses). */
function members(node: ThreadNode): string {
  const parts: string[] = [];
  // Walk single-child chains iteratively: long reply chains must not recurse.
  for (let n: ThreadNode | undefined = node; n; ) {
    if (n.id !== null) parts.push(String(n.id));
    const kids: ThreadNode[] = n.children.filter(hasMessages);
    if (kids.length === 1) {
      n = kids[0];
      continue;
    }
    if (kids.length > 1) parts.push(kids.map((k) => `(${members(k)})`).join(''));
    n = undefined;
  }
  return parts.join(' ');
}

/** A dummy without messages below it has nothing to show (and "()" is not valid). */
function hasMessages(node: ThreadNode): boolean {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.id !== null) return true;
    stack.push(...n.children);
  }
  return false;
}

/** "(1)(2 3 (4)(5))" for the given top-level threads; '' for none. */
export function formatThreads(threads: readonly ThreadNode[]): string {
  return threads
    .filter(hasMessages)
    .map((t) => `(${members(t)})`)
    .join('');
}
