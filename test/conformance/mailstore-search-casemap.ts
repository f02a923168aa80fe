// SEARCH with the i;unicode-casemap comparator (RFC 5255 4.6, RFC 5051) on
// the store: what the comparator folds alike matches, what it keeps apart
// does not, through the text index (3+ characters) and the plain scan alike.

import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchQuery } from '../../src/mail/types.js';
import { testMessage } from './fixtures.js';
import type { Ctx } from './mailstore-suite.js';
import { searchTest } from './mailstore-search-index.js';

export function mailStoreSearchCasemapConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  const mixed = testMessage({
    // "Ǆemal" (U+01C4), a ligature, full width letters, Kelvin sign, circled digit, Greek with ypogegrammeni.
    subject: '=?utf-8?b?' + Buffer.from('Ǆemal ﬁnance Ｆｕｌｌ').toString('base64') + '?=',
    extraHeaders: ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'],
    body: 'Temperature 300 \u212a, item \u2460, \u1fb3\u03c3\u03c4\u03c1\u03bf\u03bd, Stra\u00dfe, cafe\u0301, \u0131\u015f\u0131k, \u0130zmir',
  });
  const plain = testMessage({ subject: 'Dzemal finance full', body: 'Temperature 300 K, item 1, strasse, cafe, isik, izmir' });
  const appended = [{ m: mixed }, { m: plain }];
  const body = (value: string): SearchQuery => ({ kind: 'body', value });
  const subject = (value: string): SearchQuery => ({ kind: 'header', field: 'subject', value });

  describe('search: i;unicode-casemap (I18NLEVEL=1)', () => {
    searchTest(withCtx, 'case and compatibility forms fold alike', appended, async (search) => {
      assert.deepEqual(await search(subject('ǆEMAL')), [1], 'U+01C6 and U+01C4 share the titlecase U+01C5');
      assert.deepEqual(await search(subject('\u01c5')), [1]);
      assert.deepEqual(await search(subject('full')), [1, 2], 'full width letters decompose to ASCII');
      assert.deepEqual(await search(subject('ＦＵＬＬ')), [1, 2]);
      assert.deepEqual(await search(body('300 k')), [1, 2], 'the Kelvin sign is K');
      assert.deepEqual(await search(body('item 1')), [1, 2], '① is 1');
      assert.deepEqual(await search(body('ΑΣΤΡΟΝ')), [], 'ᾳ keeps its ypogegrammeni (U+0345)');
      assert.deepEqual(await search(body('ᾼΣΤΡΟΝ')), [1], 'ᾳ and ᾼ share the titlecase U+1FBC');
      assert.deepEqual(await search(body('CAFÉ')), [1], 'precomposed é matches e + U+0301');
      assert.deepEqual(await search(body('cafe')), [1, 2], 'the accent is a separate character after decomposition');
      assert.deepEqual(await search(body('IŞIK')), [1], 'ı titlecases to I');
    });

    searchTest(withCtx, 'what the comparator keeps apart', appended, async (search) => {
      assert.deepEqual(await search(body('strasse')), [2], 'ß has no simple titlecase: not SS');
      assert.deepEqual(await search(body('STRAẞE')), [], 'U+1E9E is not ß');
      assert.deepEqual(await search(subject('finance')), [2], 'ﬁ decomposes to a small "fi", not titlecased again');
      assert.deepEqual(await search(subject('ﬁnance')), [1]);
      assert.deepEqual(await search(subject('DŽemal')), [], 'D + Ž folds to D Z U+030C, U+01C4 to D z U+030C');
      assert.deepEqual(await search(body('izmir')), [2], 'İ folds to I + U+0307');
      assert.deepEqual(await search(body('i\u0307zmir')), [1]);
    });
  });
}
