#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build`, run by `npm install`'s prepare).
import '../dist/cli/main.js';
