import type { Command } from 'commander';

/** `devlab devices ...`: being built; registers its subcommands here. */
export function registerDevicesCommands(program: Command): void {
  void program;
}
