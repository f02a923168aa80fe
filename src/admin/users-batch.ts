// `petrel user add-many`: creates many users in one process (provisioning a
// test setup, a migration): names from stdin, one per line, as `name` (the
// password is --password) or `name password`. Each distinct password is
// hashed once, so a thousand users sharing one password cost one hash, not a
// thousand CLI processes and hashes. Stops at the first bad line or existing
// user; the users created before it stay.

import { hashPassword } from '../auth/password.js';
import { isMailError } from '../mail/errors.js';
import { checkAccountName, checkPassword, createUser } from './user-create.js';
import { AdminError, defineCommand, EXIT } from './types.js';

async function* lines(input: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of input) {
    rest += chunk.toString('utf8');
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
  }
  if (rest.length > 0) yield rest.replace(/\r$/, '');
}

export const userAddMany = defineCommand({
  name: ['user', 'add-many'],
  summary: 'create users from stdin, one per line: "name" (password from --password) or "name password"',
  params: [{ name: 'password', type: 'string', description: 'password of the lines that give none' }] as const,
  async run(ctx, p) {
    const repos = await ctx.repositories();
    const hashes = new Map<string, string>();
    let created = 0;
    let lineNo = 0;
    for await (const line of lines(ctx.input())) {
      lineNo++;
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const sp = trimmed.indexOf(' ');
      const name = sp < 0 ? trimmed : trimmed.slice(0, sp);
      const password = sp < 0 ? p.password : trimmed.slice(sp + 1);
      if (password === undefined) throw new AdminError(`line ${lineNo}: no password (give one on the line or --password)`, EXIT.USAGE);
      checkAccountName(name);
      checkPassword(password);
      let hash = hashes.get(password);
      if (!hash) hashes.set(password, (hash = await hashPassword(password)));
      try {
        await createUser(ctx, repos, repos.primary, name, hash);
      } catch (err) {
        if (isMailError(err, 'ALREADY_EXISTS')) throw new AdminError(`line ${lineNo}: user ${JSON.stringify(name)} already exists (${created} created before it)`);
        throw err;
      }
      created++;
    }
    return { kind: 'message', text: `${created} users created` };
  },
});
