// Messages whose previews the PREVIEW transcripts check (RFC 8970 and the
// FUZZY draft forms): plain text, quoted-printable HTML, and no text at all.

import { message } from './transcript.js';

export const PLAIN_MESSAGE = message(['From: a@example.com', 'Subject: plain', '', 'Hello   there,', '', 'see you\ttomorrow.']);

export const HTML_MESSAGE = message([
  'From: a@example.com',
  'Subject: html',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  '<html><body><p>Caf=C3=A9 &amp; cr=C3=A8me</p></body></html>',
]);

export const PICTURE_MESSAGE = message([
  'From: a@example.com',
  'Subject: picture only',
  'MIME-Version: 1.0',
  'Content-Type: image/png',
  'Content-Transfer-Encoding: base64',
  '',
  'iVBORw0KGgo=',
]);
