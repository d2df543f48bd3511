import type { Command } from 'commander';

/** `devlab analysis ...`: being built; registers its subcommands here. */
export function registerAnalysisCommands(program: Command): void {
  void program;
}
