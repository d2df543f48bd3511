import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { DEMO_DEFAULTS, runDemo } from '../../lab/demo.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the reference lab end to end: services, control plane, two agents, a history run and a risk-ordered PR run',
    )
    .option('-q, --query <query>', 'tests of the demo runs', DEMO_DEFAULTS.query)
    .option('-s, --select <selector>', 'devices of the demo runs', DEMO_DEFAULTS.select)
    .addHelpText(
      'after',
      '\nExample:\n  $ devlab demo\n  $ devlab demo --query "tag:playback" --select "caps.codecs:hevc"',
    )
    .action(async (opts: { query: string; select: string }) => {
      const result = await runDemo(loadConfig(), {
        query: opts.query,
        select: opts.select,
        agents: DEMO_DEFAULTS.agents,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.exitCode = result.exitCode;
    });
}
