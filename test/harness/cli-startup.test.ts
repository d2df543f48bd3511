import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../harness/cli/command-table.ts';
import { programFor } from '../../harness/cli/main.ts';
import { buildProgram } from '../../harness/cli/program.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';

const execFileAsync = promisify(execFile);

/** Packages only the commands that drive devices, train or serve may load. */
const HEAVY = [
  '@tensorflow',
  'appium',
  'playwright-core',
  'webdriverio',
  'dockerode',
  'bullmq',
  'better-sqlite3',
];

/** The package names (under node_modules) a fresh process imports to build the program for `args`. */
async function packagesLoadedFor(args: string[]): Promise<string[]> {
  const script = `
    import { register } from 'tsx/esm/api';
    const seen = new Set();
    register({ onImport: (url) => { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url); if (m) seen.add(m[1]); } });
    const { programFor } = await import('./harness/cli/main.ts');
    await programFor(['node', 'devlab', ...${JSON.stringify(args)}]);
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
  });
  return JSON.parse(stdout) as string[];
}

const terms = (program: Command) =>
  program.commands.map((c) => [c.name(), program.createHelp().subcommandTerm(c), c.description()]);

describe('devlab start-up: a command loads only its own modules', () => {
  it('the command table agrees with what each command registers, so `--help` lists them as they are', () => {
    const full = buildProgram();
    expect(COMMANDS.map((c) => [c.name, c.term, c.description])).toEqual(terms(full));
  });

  it('prints the same top-level help without loading any command', async () => {
    const lazy = await programFor(['node', 'devlab', '--help']);
    expect(lazy.helpInformation()).toBe(buildProgram().helpInformation());
    expect(lazy.commands.every((c) => c.commands.length === 0 && c.options.length === 0)).toBe(true);
  });

  it('registers the named command for real (also after the global --config and for `help CMD`)', async () => {
    for (const argv of [
      ['run', 'status', 'x'],
      ['--config', 'lab.yaml', 'run', 'status', 'x'],
      ['help', 'run'],
    ]) {
      const program = await programFor(['node', 'devlab', ...argv]);
      expect(program.commands.map((c) => c.name())).toEqual(['run']);
      expect(program.commands[0]!.commands.map((c) => c.name())).toContain('status');
    }
  });

  it('`--help` and `run status` load no driver, model, queue or store package', async () => {
    const [help, status] = await Promise.all([
      packagesLoadedFor(['--help']),
      packagesLoadedFor(['run', 'status', 'run-1']),
    ]);
    expect(help.filter((p) => HEAVY.some((h) => p.startsWith(h)))).toEqual([]);
    expect(status.filter((p) => HEAVY.some((h) => p.startsWith(h)))).toEqual([]);
    // It does see packages: the command's own (commander, zod) are loaded for `run status`.
    expect(status).toContain('commander');
  }, 60_000);
});
