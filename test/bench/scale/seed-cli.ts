import { pathToFileURL } from 'node:url';
import { writeScaleLab } from './lab-files.ts';
import { ensureSeeded, scaleLabDir } from './store-cache.ts';

/** `npx tsx test/bench/scale/seed-cli.ts 1000000 5000000`: warms the store cache without measuring. */
async function main(): Promise<void> {
  const lab = await writeScaleLab(scaleLabDir());
  for (const arg of process.argv.slice(2)) await ensureSeeded(Number(arg), lab);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
