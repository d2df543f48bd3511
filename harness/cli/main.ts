import type { Command } from 'commander';
import { baseProgram, COMMANDS } from './command-table.ts';

/** The top-level command `argv` names (`devlab help run` names `run`), if any. */
function commandNamed(args: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--config')
      i++; // the global option's value
    else if (!arg.startsWith('-')) words.push(arg);
  }
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * The program for one invocation: the command it names, fully registered (its module loaded now); every
 * other command only as its name and description in the help listing. So `devlab --help` loads no command,
 * and `devlab run status` loads the run commands, not the agent's drivers or the model.
 */
export async function programFor(argv: readonly string[]): Promise<Command> {
  const program = baseProgram();
  const named = commandNamed(argv.slice(2));
  const entry = COMMANDS.find((c) => c.name === named);
  if (entry) {
    (await entry.load())(program);
    return program;
  }
  const terms = new Map(COMMANDS.map((c) => [c.name, c.term]));
  for (const c of COMMANDS) program.command(c.name).description(c.description);
  const help = program.createHelp();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd) });
  return program;
}

/** Runs the CLI; every command sets process.exitCode instead of exiting, so output is flushed. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await (await programFor(argv)).parseAsync(argv);
  } catch (err) {
    process.stderr.write(`devlab: ${(err as Error).message}\n`);
    process.exitCode = process.exitCode || 2;
  }
}
