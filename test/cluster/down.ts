/**
 * `npm run down`: stops the control plane recorded in `.cluster/run` by `npm run up` (by PID, in
 * reverse start order) and removes its run dir, its tmpfs data and `.cluster/kubeconfig`.
 *
 *   npm run down [-- <run dir>]
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { recordedComponents, repoRoot, stopRunDir } from './control-plane.js';

const runRecord = join(repoRoot, '.cluster', 'run');
const kubeconfigCopy = join(repoRoot, '.cluster', 'kubeconfig');

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const fromArg = process.argv[2];
const runDir =
  fromArg ?? (existsSync(runRecord) ? readFileSync(runRecord, 'utf8').trim() : undefined);
if (runDir === undefined || runDir === '') {
  out('[down] no control plane recorded in .cluster/run; nothing to stop');
  process.exit(0);
}
if (!existsSync(runDir)) {
  out(`[down] ${runDir} no longer exists; forgetting it`);
} else {
  out(`[down] stopping ${recordedComponents(runDir).join(', ') || 'nothing recorded'} in ${runDir}`);
  await stopRunDir(runDir, (line) => out(`[down] ${line}`));
}
if (fromArg === undefined || (existsSync(runRecord) && readFileSync(runRecord, 'utf8').trim() === runDir)) {
  rmSync(runRecord, { force: true });
  rmSync(kubeconfigCopy, { force: true });
}
out('[down] done');
