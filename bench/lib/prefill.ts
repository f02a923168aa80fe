// Fills users' INBOXes over LMTP with the deterministic message mix, the same
// bytes on every target (message i of user u depends only on seed, u and i).

import type { BenchUser, Endpoint } from './endpoint.js';
import { LmtpClient } from './lmtp-client.js';
import { generateMessage, subSeed } from './messages.js';
import { runLimited } from './stats.js';

export interface PrefillResult {
  messages: number;
  bytes: number;
  seconds: number;
}

export async function prefillOverLmtp(
  ep: Endpoint,
  users: BenchUser[],
  perUser: number,
  seed: number,
  connections = 4,
  timeoutMs = 60_000,
): Promise<PrefillResult> {
  const started = performance.now();
  const total = users.length * perUser;
  let bytes = 0;
  let next = 0;
  const lanes = Math.max(1, Math.min(connections, total));
  await runLimited(lanes, lanes, async () => {
    const lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs });
    try {
      while (next < total) {
        const k = next++;
        // Interleaved by user so concurrent lanes mostly write different mailboxes.
        // Arrival order within a mailbox may differ slightly between runs; contents do not.
        const u = k % users.length;
        const i = Math.floor(k / users.length);
        const user = users[u]!;
        const msg = generateMessage(subSeed(seed, u), i, { to: user.address });
        const [reply] = await lmtp.deliver('sender@bench.example', [user.address], msg.bytes);
        if (!reply || reply.code !== 250) throw new Error(`prefill delivery to ${user.address}: ${reply?.code} ${reply?.text}`);
        bytes += msg.bytes.length;
      }
    } finally {
      await lmtp.quit();
    }
  });
  return { messages: total, bytes, seconds: (performance.now() - started) / 1000 };
}
