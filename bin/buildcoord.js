#!/usr/bin/env node
// The command line, from the compiled sources: `npm ci` builds dist/ (the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('buildcoord: dist/ is missing; run "npm run build" (npm ci does it) first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exit(await main(process.argv));
