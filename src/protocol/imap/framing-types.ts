// The contract of the resumable command framer (framer.ts): bytes in, framed
// commands out, no I/O. The connection pushes socket bytes in and pulls
// events; literals are announced before their bytes are read, so the
// connection can refuse one (limit, [TOOBIG]) or choose where its bytes go
// (memory for small ones, a spool or the ingest pipeline for APPEND data).

import type { LiteralData } from './ast.js';

export interface FramingLimits {
  /** Longest command line (bytes between CRLFs, literals excluded). */
  maxLineLength: number;
  /** Largest literal the framer buffers in memory (for non-APPEND arguments). */
  maxMemoryLiteral: number;
  /** Largest non-synchronizing literal accepted ({n+}); RFC 7888 LITERAL- is 4096. */
  maxNonSyncLiteral: number;
  /** Longest tag. */
  maxTagLength: number;
}

/** A framed command: text segments (CRLFs removed) and literal values between them, in order. */
export type CommandPart =
  | { kind: 'text'; data: Buffer }
  /** `binary`: announced as literal8 (~{n}, RFC 3516); set by the framer (additive field). */
  | { kind: 'literal'; data: LiteralData; binary?: boolean };

export type FrameEvent =
  /**
   * The line ended with a literal announcement. The framer waits for exactly
   * one of acceptLiteral('memory'), acceptLiteral('stream'), rejectLiteral().
   * For a synchronizing literal the connection sends "+ ..." after accepting.
   */
  | {
      kind: 'literal';
      /** Tag of the command being framed (null if not yet valid). */
      tag: string | null;
      /** Upper-cased command name, "UID FETCH" style for UID commands, null if unknown yet. */
      command: string | null;
      size: number;
      synchronizing: boolean;
      /** literal8 (~{n}). */
      binary: boolean;
      /** The astring of a CATENATE URL part (./catenate-literal.ts), not message data; present only when true. */
      catenateUrl?: true;
    }
  /** Stream mode only: a piece of the literal's bytes, in order. */
  | { kind: 'literal-chunk'; data: Buffer }
  /** Stream mode only: all bytes delivered; call finishStreamedLiteral(value) to continue. */
  | { kind: 'literal-end' }
  /** A complete command. `line` is the whole text when the command had no literal (used for IDLE's DONE and SASL responses). */
  | { kind: 'command'; tag: string | null; parts: CommandPart[]; line: Buffer | null }
  /**
   * A framing error (line too long, bad literal syntax, ...). The framer has
   * already skipped the offending command's bytes when `fatal` is false;
   * when fatal the connection should send BYE and close.
   */
  | {
      kind: 'error';
      tag: string | null;
      text: string;
      fatal: boolean;
      /** The error is a literal over a size limit: the reply carries [TOOBIG] (RFC 7888 section 5, RFC 4469). */
      tooBig?: boolean;
    };

export interface CommandFramerApi {
  push(chunk: Buffer): void;
  /** The next event, or null when more bytes are needed (or an answer to a literal event is pending). */
  next(): FrameEvent | null;
  acceptLiteral(mode: 'memory' | 'stream'): void;
  /**
   * Refuse the announced literal: a synchronizing one is never sent by the
   * client, so the command simply ends; a non-synchronizing one is read and
   * discarded by the framer. Either way no 'command' event follows for it.
   */
  rejectLiteral(): void;
  finishStreamedLiteral(value: LiteralData): void;
  /** Bytes buffered and not yet framed (for limits and for STARTTLS, which must discard them). */
  readonly buffered: number;
  /**
   * Bytes pushed that the framer no longer refers to (framed, copied or
   * dropped), counted from the start; a pushed chunk is free once this
   * passes its last byte, except for what a literal-chunk event handed out.
   */
  readonly consumed: number;
  /** Drops everything buffered (after STARTTLS). */
  reset(): void;
}
