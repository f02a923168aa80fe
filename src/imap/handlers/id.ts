// ID (RFC 2971): the client's parameters are logged; ours are returned.

import type { Handler, CommandOf } from '../context.js';

const SERVER_ID: Array<[string, string | null]> = [
  ['name', 'Petrel'],
  ['vendor', 'Petrel'],
];

export const idHandler: Handler<CommandOf<'ID'>> = async ({ session, command }) => {
  if (command.params) session.log.info('client id', { id: Object.fromEntries(command.params) });
  await session.send({ kind: 'ID', params: SERVER_ID });
  return { status: 'OK', text: 'ID completed' };
};
