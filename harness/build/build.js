#!/usr/bin/env node
// `npm run build` (and `prepack`): compiles the TypeScript sources into dist/ with tsc (tsconfig.build.json
// rewrites the `.ts` import extensions to `.js`), then copies beside them the files the code reads by path
// at run time (dashboard and reference-app pages, the reference inventory and manifests, the set-top-box
// image files, the helper-process entry), so that dist/ runs without the sources or tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const SOURCE_DIRS = ['harness', 'devices', 'suites', 'analysis'];
/** Not run-time files: docs, the bin (it stays beside the sources and picks dist/ itself), the setup script. */
const SKIPPED = [/\.ts$/, /\.md$/, /^harness\/cli\/devlab\.js$/, /^harness\/setup\//, /^harness\/build\//];

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (compiled.status !== 0) {
  process.stderr.write(`build: tsc failed (${compiled.signal ?? `exit ${compiled.status}`})\n`);
  process.exit(1);
}

let copied = 0;
const copyAssets = (relativeDir) => {
  for (const entry of readdirSync(path.join(ROOT, relativeDir), { withFileTypes: true })) {
    const relative = `${relativeDir}/${entry.name}`;
    if (entry.name === 'node_modules') continue;
    if (entry.isDirectory()) copyAssets(relative);
    else if (entry.isFile() && !SKIPPED.some((re) => re.test(relative))) {
      mkdirSync(path.join(DIST, relativeDir), { recursive: true });
      cpSync(path.join(ROOT, relative), path.join(DIST, relative));
      copied++;
    }
  }
};
for (const dir of SOURCE_DIRS) copyAssets(dir);
process.stdout.write(`build: dist/ compiled, ${copied} run-time files copied beside it\n`);
