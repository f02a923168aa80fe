// Loads Petrel's native helper (native/net-helper.c, built by
// scripts/build-native.cjs at install into build/net-helper.node): TCP_QUICKACK
// (tcp-quickack.ts) and draining a listening socket's accept queue
// (accept-backlog.ts). Optional: null where it was not built (no compiler,
// not Linux), and each user then does what Node alone does.

import { createRequire } from 'node:module';

export interface NativeHelper {
  /** TCP_QUICKACK on; false when it could not be set. */
  set(fd: number): boolean;
  /** TCP_QUICKACK as the kernel reports it, or -1 (tests). */
  get(fd: number): number;
  /** Up to `max` connections waiting on listening socket `listenFd`, accepted (non-blocking, close-on-exec); [] when none. */
  acceptPending(listenFd: number, max: number): number[];
}

function load(): NativeHelper | null {
  try {
    // From src/util and from dist/util alike: <root>/build.
    return createRequire(import.meta.url)('../../build/net-helper.node') as NativeHelper;
  } catch {
    return null;
  }
}

export const nativeHelper: NativeHelper | null = load();

/** Where the helper is expected, for messages. */
export const NATIVE_HELPER_PATH = 'build/net-helper.node';
