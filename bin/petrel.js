#!/usr/bin/env node
// The petrel command. Runs the compiled CLI (npm ci / npm run build make dist/).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
