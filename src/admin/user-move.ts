// `petrel user move NAME REPO`: moves a user's mail to another repository
// while the user keeps working (src/cluster/user-move.ts), with a write
// freeze of a moment at the end. Cluster mode only: the embedded server has
// one repository.

import { isMailError } from '../mail/errors.js';
import { moveAccount, type MoveOptions } from '../cluster/user-move.js';
import { requireAccount } from './account-repository.js';
import { AdminError, defineCommand, EXIT, type AdminContext } from './types.js';

/** How long the freeze may last before it lapses by itself (a crashed move must not keep a user out). */
export const DEFAULT_FREEZE_SECONDS = 30;

export const userMove = defineCommand({
  name: ['user', 'move'],
  summary: 'move a user to another repository online (cluster): UIDVALIDITY, UIDs and MODSEQs are kept',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'repo', type: 'string', positional: true, required: true, description: 'repository to move the user to (see petrel repo list)' },
    { name: 'freeze-seconds', type: 'string', description: `longest write freeze before the move gives up (default ${DEFAULT_FREEZE_SECONDS})` },
  ] as const,
  async run(ctx, p) {
    const freezeSeconds = p['freeze-seconds'] === undefined ? DEFAULT_FREEZE_SECONDS : Number(p['freeze-seconds']);
    if (!Number.isFinite(freezeSeconds) || freezeSeconds <= 0) throw new AdminError('--freeze-seconds must be a positive number', EXIT.USAGE);
    return runUserMove(ctx, p.name, p.repo, { freezeSeconds });
  },
});

/** The command's work, with the move's hooks open to tests. */
export async function runUserMove(
  ctx: AdminContext,
  name: string,
  repo: string,
  options: Omit<MoveOptions, 'announce'>,
): Promise<{ kind: 'message'; text: string }> {
  const repos = await ctx.repositories();
  if (!repos.multiRepository) {
    throw new AdminError('users can be moved in cluster mode only (storage.backend = "postgres"); the embedded server has one repository', EXIT.USAGE);
  }
  await requireAccount(repos, name);
  try {
    const report = await moveAccount(repos, name, repo, {
      ...options,
      announce: async () => {
        ctx.events.publish({ kind: 'account-changed', accountName: name });
        await ctx.sendEvents?.();
      },
    });
    if (report.outcome === 'cleaned') return { kind: 'message', text: `user ${name} is in repository ${repo}; removed what was left elsewhere` };
    return {
      kind: 'message',
      text:
        `user ${name} moved to repository ${repo}: ${report.mailboxes} mailboxes, ${report.messages} message changes, ` +
        `${report.blobs} bodies copied in ${report.passes} live passes; writes frozen ${report.freezeMs} ms`,
    };
  } catch (err) {
    if (isMailError(err, 'NOT_FOUND')) throw new AdminError(err.message, EXIT.USAGE);
    if (isMailError(err, 'CANNOT')) throw new AdminError(err.message, EXIT.USAGE);
    throw err;
  }
}
