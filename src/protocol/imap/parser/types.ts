// Shared shape of the per-command parsers.

import type { Command } from '../ast.js';
import type { Reader } from './reader.js';

/**
 * Parses a command's arguments. The reader is positioned right after the
 * command name (before its SP); `uid` is true for "UID <name>". The caller
 * checks that the command ends afterwards.
 */
export type CommandParser = (r: Reader, uid: boolean) => Command;
