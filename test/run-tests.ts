/**
 * Runs every suite (unit, integration against a real etcd, e2e) in one mocha run and ends with the
 * plain line `N passed, N failed[, N skipped]` that CI reads. Exit code 1 on any failure or when no
 * test ran at all. Usage: node --import tsx test/run-tests.ts [suite…]  (suites: unit integration e2e
 * reliability security; SOAK=1 runs the last two in their long form, see test/reliability/README.md)
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mocha from 'mocha';

const root = fileURLToPath(new URL('.', import.meta.url));
const allSuites = ['unit', 'integration', 'e2e', 'reliability', 'security'] as const;

function testFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) return testFiles(p);
      return e.endsWith('.test.ts') ? [p] : [];
    });
}

const requested = process.argv.slice(2);
const unknown = requested.filter((s) => !(allSuites as readonly string[]).includes(s));
if (unknown.length > 0) {
  process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; known: ${allSuites.join(', ')}\n`);
  process.exit(64);
}
const suites = requested.length > 0 ? requested : [...allSuites];
const mocha = new Mocha({ timeout: 30_000, reporter: 'spec', color: process.stdout.isTTY });
for (const suite of suites) for (const f of testFiles(join(root, suite))) mocha.addFile(f);
process.stdout.write(`running ${String(mocha.files.length)} test files from ${suites.join(', ')}: ${mocha.files.map((f) => relative(root, f)).join(' ')}\n`);
await mocha.loadFilesAsync();
const runner = mocha.run();
runner.on('end', () => {
  const s = runner.stats;
  const passed = s?.passes ?? 0;
  const failed = s?.failures ?? 0;
  const skipped = s?.pending ?? 0;
  process.stdout.write(`\n${String(passed)} passed, ${String(failed)} failed${skipped > 0 ? `, ${String(skipped)} skipped` : ''}\n`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
