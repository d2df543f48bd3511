import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { scaffoldFiles } from '../scaffold.ts';

interface InitOptions {
  dir: string;
  host: string;
}

/** `devlab init`: a config, an inventory with one browser device and one test, never over an existing file. */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('scaffold devlab in this repo: devlab.config.yaml, an inventory with a browser and one test')
    .option('--dir <dir>', 'the repo to scaffold', '.')
    .option('--host <id>', 'agent host id of the inventory device (`devlab agent --host ID`)', 'local')
    .addHelpText('after', '\nExample:\n  $ npx devlab init && npx devlab tests list')
    .action((opts: InitOptions) => {
      const root = path.resolve(opts.dir);
      const files = scaffoldFiles(opts.host);
      const written: string[] = [];
      const existing: string[] = [];
      for (const [relative, text] of Object.entries(files)) {
        const file = path.join(root, relative);
        mkdirSync(path.dirname(file), { recursive: true });
        try {
          writeFileSync(file, text, { flag: 'wx' }); // never over an existing file
          written.push(relative);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          existing.push(relative);
        }
      }
      for (const relative of written) process.stdout.write(`created ${relative}\n`);
      if (existing.length > 0) {
        process.stderr.write(
          `devlab init: left as they are (they exist already): ${existing.join(', ')}; remove them to scaffold them afresh\n`,
        );
        process.exitCode = 2;
        return;
      }
      process.stdout.write(
        [
          '',
          'next:',
          '  npx devlab tests list',
          '  npx devlab server &',
          `  npx devlab agent --host ${opts.host} --app-url http://127.0.0.1:8080 &   # your app under test`,
          '  npx devlab run submit --query "tag:smoke" --wait --junit devlab-junit.xml',
          '',
        ].join('\n'),
      );
    });
}
