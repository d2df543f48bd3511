import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { renderDoctor, runDoctor } from '../../doctor/doctor.ts';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check every prerequisite of the lab; exit 1 when a required part is missing')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ devlab doctor\n  $ DEVLAB_REDIS_URL=redis://127.0.0.1:6380 devlab doctor --json',
    )
    .action(async (opts: { json?: boolean }) => {
      const report = await runDoctor(loadConfig());
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : renderDoctor(report, process.stdout.isTTY === true),
      );
      process.exitCode = report.healthy ? 0 : 1;
    });
}
