// Transcripts: LOGIN-REFERRALS (RFC 2221). Referrals are a MAY (RFC 2221 4.1,
// 4.2): a server whose every instance serves every user lists the capability
// (section 3) and never sends a [REFERRAL] code, on success or on failure.

import { after, before, describe, test } from 'node:test';
import { Client, startTestServer, type TestServer } from './transcript.js';

// Dovecot's order for the first capabilities, IMAP4rev2 and LITERAL+ between.
const HEAD = 'IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS LITERAL\\+ ';

describe('LOGIN-REFERRALS', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts.close();
  });

  test('listed in the greeting, before and after authentication; no referral on LOGIN', async () => {
    const c = await Client.connect(ts.port);
    try {
      await c.expectMatch(new RegExp(`^\\* OK \\[CAPABILITY ${HEAD}[^\\]]* AUTH=PLAIN AUTH=LOGIN\\] Petrel ready$`));
      c.send('a CAPABILITY\r\n');
      await c.expectMatch(new RegExp(`^\\* CAPABILITY ${HEAD}.* AUTH=PLAIN AUTH=LOGIN$`));
      await c.expect(['a OK CAPABILITY completed']);
      // A failed login is where RFC 2221 4.1 would put a referral: none.
      await c.run('b LOGIN alice wrong', ['b NO [AUTHENTICATIONFAILED] Authentication failed']);
      c.send('c LOGIN alice secret\r\n');
      await c.expectMatch(new RegExp(`^c OK \\[CAPABILITY ${HEAD}[^\\]]*\\] Logged in$`));
      c.send('d CAPABILITY\r\n');
      await c.expectMatch(new RegExp(`^\\* CAPABILITY ${HEAD}`));
      await c.expect(['d OK CAPABILITY completed']);
      await c.run('e LOGOUT', ['* BYE Logging out', 'e OK LOGOUT completed']);
      await c.closed();
    } finally {
      c.destroy();
    }
  });
});
