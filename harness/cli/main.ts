import { Command } from 'commander';
import { registerAnalysisCommands } from './commands/analysis.ts';
import { registerDevicesCommands } from './commands/devices.ts';
import { registerAgentCommand } from './commands/agent.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerHooksCommands } from './commands/hooks.ts';
import { registerResultsCommands } from './commands/results.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerServerCommand } from './commands/server.ts';
import { registerTestsCommands } from './commands/tests.ts';
import { registerTokensCommands } from './commands/tokens.ts';

export function buildProgram(): Command {
  const program = new Command('devlab')
    .description('Device test lab CI harness: catalog, devices, runs, results and failure prediction')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerDoctorCommand(program);
  registerTestsCommands(program);
  registerDevicesCommands(program);
  registerAnalysisCommands(program);
  registerRunCommands(program);
  registerResultsCommands(program);
  registerServerCommand(program);
  registerAgentCommand(program);
  registerDemoCommand(program);
  registerTokensCommands(program);
  registerHooksCommands(program);
  return program;
}

/** Runs the CLI; every command sets process.exitCode instead of exiting, so output is flushed. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`devlab: ${(err as Error).message}\n`);
    process.exitCode = process.exitCode || 2;
  }
}
