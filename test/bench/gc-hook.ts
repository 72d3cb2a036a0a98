/**
 * Preloaded into (a) by the benchmark (`node --expose-gc --import tsx --import test/bench/gc-hook.ts`),
 * never part of the server: on SIGUSR2, a full garbage collection, then `process.memoryUsage()` written
 * to $BENCH_MEMORY_FILE, so that memory readings do not depend on when V8 last collected.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['BENCH_MEMORY_FILE'];
const gc = (globalThis as { gc?: () => void }).gc;
if (file !== undefined && file !== '') {
  process.on('SIGUSR2', () => {
    // Twice: ArrayBuffers found dead by the first collection release their memory in its aftermath,
    // so "external" settles only after the second (the first alone left ~37 MB of them with 100k objects).
    gc?.();
    gc?.();
    writeFileSync(file, JSON.stringify({ gc: gc !== undefined, ...process.memoryUsage() }));
  });
}
