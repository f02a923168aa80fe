// THREAD algorithms of RFC 5256 section 3, pure: ORDEREDSUBJECT and
// REFERENCES (steps 1-6 as numbered in the RFC), and REFS (Dovecot's variant,
// after draft-ietf-morg-inthread). Input messages are put in sequence-number
// order (that decides which duplicate Message-ID wins).

import type { ThreadNode } from '../protocol/imap/response.js';
import { bySentDate, type SortableMessage } from './sorting.js';

/** ORDEREDSUBJECT: group by base subject; threads ordered by their first message's sent date; no grandchildren. */
export function threadOrderedSubject(messages: readonly SortableMessage[]): ThreadNode[] {
  const groups = new Map<string, SortableMessage[]>();
  for (const m of messages) {
    const key = m.subject.toString('utf8');
    const g = groups.get(key);
    if (g) g.push(m);
    else groups.set(key, [m]);
  }
  const threads = [...groups.values()].map((g) => g.sort(bySentDate));
  threads.sort((a, b) => bySentDate(a[0]!, b[0]!));
  return threads.map(([first, ...rest]) => ({
    id: first!.id,
    children: rest.map((m) => ({ id: m.id, children: [] })),
  }));
}

interface Container {
  msg: SortableMessage | null;
  parent: Container | null;
  children: Container[];
}

const dummy = (): Container => ({ msg: null, parent: null, children: [] });

/** True when `a` is `b` or lies below it (linking a as b's parent would make a loop). */
function isAtOrBelow(a: Container, b: Container): boolean {
  // Usual case, and it keeps long reply chains linear: nothing lies below a leaf.
  if (b.children.length === 0) return a === b;
  for (let p: Container | null = a; p; p = p.parent) if (p === b) return true;
  return false;
}

function link(parent: Container, child: Container): void {
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: Container): void {
  const p = child.parent;
  if (!p) return;
  p.children.splice(p.children.indexOf(child), 1);
  child.parent = null;
}

/** Step 1: the Message-ID table and parent/child links. */
function buildLinks(messages: readonly SortableMessage[]): Container[] {
  const byId = new Map<string, Container>();
  const all: Container[] = [];
  const containerFor = (id: string): Container => {
    let c = byId.get(id);
    if (!c) {
      c = dummy();
      byId.set(id, c);
      all.push(c);
    }
    return c;
  };
  for (const msg of messages) {
    let self: Container;
    const existing = msg.messageId === null ? undefined : byId.get(msg.messageId);
    if (msg.messageId !== null && (existing === undefined || existing.msg === null)) {
      // A missing or duplicate id gets a unique one: such a message cannot be referenced.
      self = containerFor(msg.messageId);
      self.msg = msg;
    } else {
      self = { msg, parent: null, children: [] };
      all.push(self);
    }
    // (1.A) chain the references, never re-parenting and never looping.
    // A message listing its own id would only make a loop; the reference before it is the parent.
    const refs = msg.references.filter((id) => byId.get(id) !== self).map(containerFor);
    for (let i = 0; i + 1 < refs.length; i++) {
      const parent = refs[i]!;
      const child = refs[i + 1]!;
      if (child.parent === null && !isAtOrBelow(parent, child)) link(parent, child);
    }
    // (1.B) the last reference is the parent; a truncated References may have linked it elsewhere.
    const parent = refs.length > 0 ? refs[refs.length - 1]! : null;
    if (self.parent !== parent) {
      unlink(self);
      if (parent && !isAtOrBelow(parent, self)) link(parent, self);
    }
  }
  // (2) the parentless are the first messages of the threads.
  return all.filter((c) => c.parent === null);
}

/** Every container below `level`, parents before their children (iterative: reply chains can be long). */
function preorder(level: readonly Container[]): Container[] {
  const out: Container[] = [];
  const stack = [...level].reverse();
  while (stack.length > 0) {
    const c = stack.pop()!;
    out.push(c);
    for (let i = c.children.length - 1; i >= 0; i--) stack.push(c.children[i]!);
  }
  return out;
}

/**
 * Step 3: drop empty dummies; splice a dummy's children into its level (at the root only if it has one child).
 * `promoted` collects the only children that took a root dummy's place.
 */
function prune(root: Container[], promoted?: Set<Container>): Container[] {
  // Children before parents, so each dummy sees its already-pruned children.
  const below = new Map<Container, Container[]>();
  for (const c of preorder(root).reverse()) {
    c.children = c.children.flatMap((k) => below.get(k)!);
    for (const k of c.children) k.parent = c;
    below.set(c, c.msg !== null ? [c] : c.children);
  }
  const out: Container[] = [];
  for (const c of root) {
    if (c.msg !== null || c.children.length > 1) out.push(c);
    else {
      out.push(...c.children);
      if (c.children.length === 1) promoted?.add(c.children[0]!);
    }
  }
  for (const c of out) c.parent = null;
  return out;
}

/** The message that stands for a container in date order: itself, or a dummy's first child. */
function representative(c: Container): SortableMessage {
  let n = c;
  while (n.msg === null) n = n.children[0]!;
  return n.msg;
}

const byRepresentative = (a: Container, b: Container): number => bySentDate(representative(a), representative(b));

/** Steps 4 and 6: sort sibling sets by sent date, children before their parents. */
function sortTree(root: Container[]): void {
  for (const c of preorder(root).reverse()) c.children.sort(byRepresentative);
  root.sort(byRepresentative);
}

function threadSubject(c: Container): string {
  return representative(c).subject.toString('utf8');
}

/** Step 5: gather root threads that share a base subject. */
function mergeSubjects(root: Container[]): Container[] {
  const table = new Map<string, Container>();
  for (const c of root) {
    const subject = threadSubject(c);
    if (subject === '') continue;
    const t = table.get(subject);
    if (!t) table.set(subject, c);
    else if (t.msg !== null && (c.msg === null || (t.msg.replyOrForward && !c.msg.replyOrForward))) table.set(subject, c);
  }
  const removed = new Set<Container>();
  const replaced = new Map<Container, Container>();
  for (const c of root) {
    const subject = threadSubject(c);
    if (subject === '') continue;
    const t = table.get(subject)!;
    if (t === c) continue;
    if (t.msg === null && c.msg === null) {
      for (const k of c.children) link(t, k);
      c.children = [];
    } else if (t.msg === null || (c.msg!.replyOrForward && !t.msg.replyOrForward)) {
      link(t, c);
    } else {
      const d = dummy();
      replaced.set(t, d);
      link(d, t);
      link(d, c);
      table.set(subject, d);
    }
    removed.add(c);
  }
  const result: Container[] = [];
  for (const c of root) {
    if (removed.has(c)) continue;
    // A replaced message may itself have been replaced again by a later dummy: follow the chain up.
    let top = c;
    while (replaced.has(top)) top = replaced.get(top)!;
    result.push(top);
  }
  return result;
}

function toNodes(root: Container[]): ThreadNode[] {
  const nodes = new Map<Container, ThreadNode>();
  const all = preorder(root);
  for (const c of all) nodes.set(c, { id: c.msg?.id ?? null, children: [] });
  for (const c of all) nodes.get(c)!.children = c.children.map((k) => nodes.get(k)!);
  return root.map((c) => nodes.get(c)!);
}

/** REFERENCES threading (RFC 5256 section 3). */
export function threadReferences(messages: readonly SortableMessage[]): ThreadNode[] {
  const ordered = [...messages].sort((a, b) => a.seq - b.seq);
  let root = prune(buildLinks(ordered));
  // (4) sort the top level (dummies by their earliest child) before the subject merge looks at first children.
  for (const c of root) if (c.msg === null) c.children.sort(byRepresentative);
  root.sort(byRepresentative);
  root = mergeSubjects(root);
  // (6)
  sortTree(root);
  return toNodes(root);
}

/** The newest sent date of a thread (REFS orders threads by it). */
function newestSent(c: Container): number {
  let newest = -Infinity;
  for (const n of preorder([c])) if (n.msg !== null && n.msg.sent > newest) newest = n.msg.sent;
  return newest;
}

/**
 * REFS threading, as Dovecot 2.3 implements THREAD=REFS: REFERENCES steps 1-4
 * and 6 without the subject merge of step 5, and the threads ordered by their
 * newest message's sent date instead of their first one's. Ties go by the
 * first message's sequence number; a thread whose first message is missing
 * (a dummy, even one replaced by its only child) comes first, as Dovecot's
 * dummies compare with UID 0.
 */
export function threadRefs(messages: readonly SortableMessage[]): ThreadNode[] {
  const ordered = [...messages].sort((a, b) => a.seq - b.seq);
  const promoted = new Set<Container>();
  const root = prune(buildLinks(ordered), promoted);
  sortTree(root);
  const key = new Map<Container, { newest: number; first: number }>();
  for (const c of root) key.set(c, { newest: newestSent(c), first: c.msg === null || promoted.has(c) ? 0 : c.msg.seq });
  root.sort((a, b) => {
    const ka = key.get(a)!;
    const kb = key.get(b)!;
    return ka.newest - kb.newest || ka.first - kb.first;
  });
  return toNodes(root);
}
