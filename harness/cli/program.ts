import type { Command } from 'commander';
import { baseProgram } from './command-table.ts';
import { registerAgentCommand } from './commands/agent.ts';
import { registerAnalysisCommands } from './commands/analysis.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDevicesCommands } from './commands/devices.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerHooksCommands } from './commands/hooks.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerResultsCommands } from './commands/results.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerServerCommand } from './commands/server.ts';
import { registerTestsCommands } from './commands/tests.ts';
import { registerTokensCommands } from './commands/tokens.ts';

/**
 * Every command registered at once (loads all of devlab): for tests that drive the CLI in-process. The
 * `devlab` bin goes through `main()` (main.ts), which loads only the command it runs.
 */
export function buildProgram(): Command {
  const program = baseProgram();
  registerInitCommand(program);
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
