// Byte-level mutations of protocol commands for the parser fuzz tests: flip
// a bit, truncate, insert a token the grammar cares about, delete a few bytes.

import fc from 'fast-check';

export type CommandMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; len: number };

/** Mutations inserting one of `tokens` (or, where given, `randomInserts` bytes) and deleting up to `maxDelete` bytes. */
export function commandMutation(
  tokens: readonly string[],
  options: { maxDelete: number; randomInserts?: fc.Arbitrary<Uint8Array> },
): fc.Arbitrary<CommandMutation> {
  const token = fc.constantFrom(...tokens.map((s) => Buffer.from(s)));
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: options.randomInserts ? fc.oneof(options.randomInserts, token) : token,
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: options.maxDelete }) }),
  );
}

/** `bytes` with every mutation applied in turn (positions taken modulo the current length). */
export function mutate(bytes: Buffer, mutations: readonly CommandMutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'flip' && out.length > 0) out[at % out.length]! ^= 1 << m.bit;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    else if (m.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.len)]);
  }
  return out;
}
