import type { Command } from 'commander';

/** `devlab tests ...`: being built; registers its subcommands here. */
export function registerTestsCommands(program: Command): void {
  void program;
}
