// Entry point for running the CLI from source: node --import tsx src/cli/run.ts ...
import { main } from './main.js';

await main(process.argv.slice(2));
