// Reading a new password: twice without echo on a terminal, or one line from
// a pipe (scripts: `echo secret | petrel user add alice`).

import { AdminError, EXIT } from '../admin/types.js';

const MAX_PIPED_PASSWORD = 64 * 1024;

export async function readNewPassword(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) {
    const first = await promptHidden(stdin, 'Password: ');
    const second = await promptHidden(stdin, 'Repeat password: ');
    if (first !== second) throw new AdminError('the passwords do not match', EXIT.USAGE);
    return first;
  }
  return readFirstLine(stdin);
}

async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const newline = buf.indexOf(0x0a);
    if (newline >= 0) {
      chunks.push(buf.subarray(0, newline));
      break;
    }
    chunks.push(buf);
    total += buf.length;
    if (total > MAX_PIPED_PASSWORD) throw new AdminError('password on stdin is too long', EXIT.USAGE);
  }
  const line = Buffer.concat(chunks).toString('utf8');
  if (line.length === 0) throw new AdminError('no password given (use --password, a terminal, or one line on stdin)', EXIT.USAGE);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function promptHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (text: string): void => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(chars.join(''));
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          // Ctrl-C / Ctrl-D
          finish();
          reject(new AdminError('cancelled', EXIT.FAILURE));
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015') chars = []; // Ctrl-U
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
