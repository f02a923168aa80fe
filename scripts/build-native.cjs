// Builds Petrel's one native helper, build/net-helper.node (native/net-helper.c:
// TCP_QUICKACK, which Node cannot set, and draining a listening socket's
// accept queue, which Node does one connection per event-loop turn), with the
// machine's C compiler against Node's own headers. Run by `npm ci` /
// `npm install` (package.json "prepare").
// Optional: without a compiler or headers Petrel runs without it (a client that
// splits a literal from its CRLF without TCP_NODELAY then waits ~40 ms per
// literal, and a burst of new connections on a busy server is accepted one
// per event-loop turn).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build', 'net-helper.node');
const WITHOUT = 'running without TCP_QUICKACK and without draining the accept queue';

function headerDirs() {
  // An explicit nodedir (npm's setting) first, then the headers installed beside the node binary.
  const dirs = [path.join(process.execPath, '..', '..', 'include', 'node')];
  if (process.env.npm_config_nodedir) dirs.unshift(path.join(process.env.npm_config_nodedir, 'include', 'node'));
  return dirs.filter((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function main() {
  if (process.platform !== 'linux') return 'the helper is Linux only';
  const include = headerDirs()[0];
  if (!include) return "Node's headers (node_api.h) were not found next to the node binary";
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // A stale helper must not survive a failed build: the warning would then be wrong.
  fs.rmSync(out, { force: true });
  const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/); // CC may carry arguments ("ccache gcc")
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(
      cc,
      [...ccArgs, '-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=net_helper', `-I${include}`, path.join(root, 'native', 'net-helper.c'), '-o', tmp],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 },
    );
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return null;
}

try {
  const skipped = main();
  if (skipped) console.warn(`petrel: native helper not built (${skipped}); ${WITHOUT}`);
} catch (err) {
  console.warn(`petrel: native helper not built (${err instanceof Error ? err.message : String(err)}); ${WITHOUT}`);
}
