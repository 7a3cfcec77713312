#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
let main;
try {
  ({ main } = require('../dist/src/cli/main.js'));
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('grange: not built yet; run `npm run build` first\n');
    process.exit(2);
  }
  throw error;
}
main(process.argv.slice(2));
