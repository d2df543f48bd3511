import path from 'node:path';
import { Command } from 'commander';

/**
 * The top-level commands of `devlab`: what `devlab --help` lists, without loading any of them. A command's
 * module (and so TF.js, Appium, Playwright, dockerode, BullMQ, ...) is imported only when that command
 * runs. `test/harness/cli-startup.test.ts` checks that this table and the commands' own registration agree.
 */
export interface CommandEntry {
  name: string;
  /** How the help listing shows it: the name, `[options]` when it has options of its own. */
  term: string;
  description: string;
  load(): Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    term: 'init [options]',
    description: 'scaffold devlab in this repo: devlab.config.yaml, an inventory with a browser and one test',
    load: async () => (await import('./commands/init.ts')).registerInitCommand,
  },
  {
    name: 'doctor',
    term: 'doctor [options]',
    description: 'check every prerequisite of the lab; exit 1 when a required part is missing',
    load: async () => (await import('./commands/doctor.ts')).registerDoctorCommand,
  },
  {
    name: 'tests',
    term: 'tests',
    description: 'the test catalog: list and inspect tests',
    load: async () => (await import('./commands/tests.ts')).registerTestsCommands,
  },
  {
    name: 'devices',
    term: 'devices',
    description: 'the device inventory, live state, health and reservations',
    load: async () => (await import('./commands/devices.ts')).registerDevicesCommands,
  },
  {
    name: 'analysis',
    term: 'analysis',
    description: 'failure prediction: histories, evaluation, reports',
    load: async () => (await import('./commands/analysis.ts')).registerAnalysisCommands,
  },
  {
    name: 'run',
    term: 'run',
    description: 'submit and follow test runs',
    load: async () => (await import('./commands/run.ts')).registerRunCommands,
  },
  {
    name: 'results',
    term: 'results',
    description: 'results of runs',
    load: async () => (await import('./commands/results.ts')).registerResultsCommands,
  },
  {
    name: 'server',
    term: 'server [options]',
    description: 'run the control plane: the store, the planner, the result consumer and the HTTP API',
    load: async () => (await import('./commands/server.ts')).registerServerCommand,
  },
  {
    name: 'agent',
    term: 'agent [options]',
    description: 'run a lab agent: lease the devices of this host and execute their jobs',
    load: async () => (await import('./commands/agent.ts')).registerAgentCommand,
  },
  {
    name: 'demo',
    term: 'demo [options]',
    description:
      'run the reference lab end to end: services, control plane, two agents, a history run and a risk-ordered PR run',
    load: async () => (await import('./commands/demo.ts')).registerDemoCommand,
  },
  {
    name: 'tokens',
    term: 'tokens',
    description: 'API bearer tokens per partner (stored hashed)',
    load: async () => (await import('./commands/tokens.ts')).registerTokensCommands,
  },
  {
    name: 'hooks',
    term: 'hooks',
    description:
      'signed webhooks: tell a pipeline when runs finish or fail (DEVLAB_TOKEN scopes them to a partner)',
    load: async () => (await import('./commands/hooks.ts')).registerHooksCommands,
  },
];

/**
 * The bare `devlab` program: name, description, output settings and the global `--config`, no command yet.
 * `--config FILE` is DEVLAB_CONFIG for the command (and the processes it starts); without either, the
 * config is `devlab.config.yaml` in the working directory when there is one (harness/config/config.ts).
 */
export function baseProgram(): Command {
  const program = new Command('devlab')
    .description('Device test lab CI harness: catalog, devices, runs, results and failure prediction')
    .option(
      '--config <file>',
      'devlab.config.yaml to use (default: DEVLAB_CONFIG, else ./devlab.config.yaml)',
    )
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  program.hook('preAction', () => {
    const file = program.opts<{ config?: string }>().config;
    if (file) process.env['DEVLAB_CONFIG'] = path.resolve(file);
  });
  return program;
}
