#!/usr/bin/env node
// The petrel command: runs the compiled CLI (npm ci / npm run build make dist/).
//
// CommonJS on purpose: libuv's thread pool (file I/O, fsync, scrypt) is sized
// from UV_THREADPOOL_SIZE when first used, and an ES module entry is already
// loaded through that pool. Petrel fsyncs on every delivery, so the default of
// 4 threads makes small reads queue behind fsyncs; 16 is the default here,
// and the environment variable still wins.
'use strict';
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '16';
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
