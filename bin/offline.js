#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build`, run by `npm install`'s prepare).
// Node's on-disk compile cache (in the system's temporary directory) spares every later run the
// compilation of the CLI and its dependencies: about a third of its start-up (docs/benchmarks.md).
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli/main.js');
