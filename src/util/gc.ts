// Prompt collection of short-lived Buffers while a large literal streams in.
//
// Every socket read allocates a fresh Buffer; once processed it is garbage,
// but its memory is only returned when V8 next scavenges, which on a fast
// 200 MB upload can be tens of MB later. A minor (young-generation) GC every
// few MB keeps the peak RSS of big APPENDs low, at ~1 ms per call. Exposing
// gc at run time (instead of --expose-gc on the command line) keeps
// `petrel serve` a plain node invocation.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

let gc: GcFunction | null | undefined;

function gcFunction(): GcFunction | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as GcFunction;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Counts streamed bytes and runs a minor GC each time `everyBytes` more have passed. */
export class StreamingGarbageCollector {
  private sinceLast = 0;

  constructor(private readonly everyBytes = 8 * 1024 * 1024) {}

  add(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    gcFunction()?.({ type: 'minor' });
  }
}
