#!/usr/bin/env node
/** Entry point of the `connectors-access` CLI (package.json `bin`); see ./cli.ts. */
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
