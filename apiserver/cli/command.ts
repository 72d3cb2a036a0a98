/** What every subcommand of the `connectors-access` CLI is: a name, a line of help, and a run. */

export interface CliIo {
  /** Text as is (callers end lines with "\n"). */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export interface Command {
  readonly name: string;
  /** One line for the top-level usage. */
  readonly summary: string;
  /** The arguments after the subcommand name; resolves to the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** sysexits EX_USAGE: unknown subcommand or flag, missing or malformed value. */
export const exitUsage = 64;

export type Parsed<T> =
  | { readonly kind: 'help' }
  | { readonly kind: 'usageError'; readonly message: string }
  | { readonly kind: 'run'; readonly args: T };

export interface FlagSpec {
  /** Flags that take a value (`--flag value` or `--flag=value`). */
  readonly values: readonly string[];
  /** Flags without a value (`--flag`, or `--flag=true|false`). */
  readonly booleans: readonly string[];
}

/**
 * Long flags only (plus `-h`): `--flag value`, `--flag=value`, booleans as `--flag` or
 * `--flag=true|false`; the last of a repeated flag wins; no positional arguments.
 */
export function parseFlags(
  argv: readonly string[],
  spec: FlagSpec,
): Parsed<{ readonly values: ReadonlyMap<string, string>; readonly booleans: ReadonlySet<string> }> {
  const values = new Map<string, string>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (!arg.startsWith('--') || arg === '--') return { kind: 'usageError', message: `unexpected argument "${arg}"` };
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.booleans.includes(flag)) {
      if (inline === undefined || inline === 'true') booleans.add(flag);
      else if (inline === 'false') booleans.delete(flag);
      else return { kind: 'usageError', message: `--${flag} takes no value other than true or false, got "${inline}"` };
      continue;
    }
    if (!spec.values.includes(flag)) return { kind: 'usageError', message: `unknown flag --${flag}` };
    let value = inline;
    if (value === undefined) {
      value = argv[i + 1];
      i++;
      if (value === undefined || value.startsWith('--')) return { kind: 'usageError', message: `--${flag} needs a value` };
    }
    values.set(flag, value);
  }
  return { kind: 'run', args: { values, booleans } };
}
