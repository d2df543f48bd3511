#!/usr/bin/env node
// The `devlab` bin. Installed from the packed package (no TypeScript sources beside this file) it runs the
// compiled dist/. In a checkout it runs the sources through tsx, so the README's commands and CI work
// without a build step, and a dist/ left by an earlier `npm pack` can never run stale code;
// DEVLAB_COMPILED=1 runs a checkout's dist/ instead (the start-up benchmark measures both).
import { existsSync } from 'node:fs';

const source = new URL('./main.ts', import.meta.url);
const compiled = new URL('../../dist/harness/cli/main.js', import.meta.url);
let main;
if (existsSync(source) && process.env.DEVLAB_COMPILED !== '1') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  process.stderr.write(
    `devlab: ${compiled.pathname} is missing: run \`npm run build\` in ${new URL('../../', import.meta.url).pathname}\n`,
  );
  process.exit(2);
}
await main(process.argv);
