import type { Command } from 'commander';

export function registerDoctorCommand(program: Command): void {
  void program;
}
