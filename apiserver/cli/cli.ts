/**
 * The `connectors-access` CLI: `connectors-access <command> [flags]`. Each subcommand is a Command
 * (./command.ts) registered below; `migrate` (domain spec §2.3) now, the request-access helper's
 * `request` (§7) joins the same table.
 */
import { exitUsage, type CliIo, type Command } from './command.js';
import { migrateCommand } from './migrate.js';
import { requestCommand } from './request-access.js';

export const commands: readonly Command[] = [migrateCommand, requestCommand];

export function cliUsage(cmds: readonly Command[] = commands): string {
  const width = Math.max(...cmds.map((c) => c.name.length));
  return `Usage: connectors-access <command> [flags]

Commands:
${cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "connectors-access <command> --help" for the flags of a command.
`;
}

/** Runs the CLI on argv (without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, cmds: readonly Command[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help' || name === 'help') {
    io.stdout(cliUsage(cmds));
    return 0;
  }
  const command = cmds.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`${name === undefined ? 'error: no command given' : `error: unknown command "${name}"`}\n\n${cliUsage(cmds)}`);
    return exitUsage;
  }
  return command.run(rest, io);
}
