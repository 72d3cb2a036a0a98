/**
 * `connectors-access migrate` (domain spec §2.3): flags, wiring (kubeconfig, the server's etcd) and
 * the exit code; the copying itself is ./migrate/run.ts.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { createEtcdStorage } from '../../storage/etcd3.js';
import { exitUsage, parseFlags, type CliIo, type Command, type Parsed } from './command.js';
import { mainApiServer } from './migrate/main-api.js';
import { runMigration } from './migrate/run.js';

export const migrateUsage = `Usage: connectors-access migrate --kubeconfig <path> --etcd-servers <urls> [flags]

Copies every ConnectorClass, then every Connector, from the main API server (where the Connector
CRDs serve them) into this server's etcd, under the keys the server uses, keeping uid, labels,
annotations, finalizers, ownerReferences, managedFields, spec and status. Run it after the server
is installed and the Connectors controllers are stopped, before the APIService is registered.
Idempotent and resumable: an object stored with the same uid is overwritten when it differs and
skipped when equal; one stored with another uid is left alone and reported as a conflict.
With --reverse (rollback: CRDs re-created, APIService deleted) the objects of this server's etcd
are created through the main API server, status included (they get new uids there).

Prints one line per object: <Kind> <namespace>/<name> created|updated|unchanged|conflict
("-" as the namespace of a ConnectorClass). Refuses to run while the APIService
v1alpha1.connectors.alauda.io has a spec.service (this server registered).

Flags:
  --kubeconfig <path>        kubeconfig of the main API server (required)
  --etcd-servers <urls>      comma-separated etcd client URLs of this server (required)
  --etcd-prefix <prefix>     the server's --etcd-prefix (default /registry)
  --etcd-cafile <path>       CA bundle verifying etcd's serving certificate
  --etcd-certfile <path>     client certificate towards etcd
  --etcd-keyfile <path>      client key towards etcd
  --dry-run                  print what would be copied, write nothing
  --reverse                  copy from this server's etcd back to the main API server
  -h, --help                 print this help

Exit codes: 0 done, 1 a conflict or an error (the rest was copied) or refused, 64 usage error.
`;

export interface MigrateArgs {
  readonly kubeconfig: string;
  readonly etcdServers: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdCAFile?: string;
  readonly etcdCertFile?: string;
  readonly etcdKeyFile?: string;
  readonly dryRun: boolean;
  readonly reverse: boolean;
}

export function parseMigrateArgs(argv: readonly string[]): Parsed<MigrateArgs> {
  const flags = parseFlags(argv, {
    values: ['kubeconfig', 'etcd-servers', 'etcd-prefix', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile'],
    booleans: ['dry-run', 'reverse'],
  });
  if (flags.kind !== 'run') return flags;
  const v = flags.args.values;
  const usage = (message: string): Parsed<MigrateArgs> => ({ kind: 'usageError', message });
  const kubeconfig = v.get('kubeconfig') ?? '';
  if (kubeconfig === '') return usage('--kubeconfig is required');
  const etcdServers = (v.get('etcd-servers') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (etcdServers.length === 0) return usage('--etcd-servers is required');
  const etcdPrefix = v.get('etcd-prefix') ?? '/registry';
  if (!etcdPrefix.startsWith('/')) return usage(`--etcd-prefix must start with "/", got "${etcdPrefix}"`);
  const files: { etcdCAFile?: string; etcdCertFile?: string; etcdKeyFile?: string } = {};
  for (const [flag, field] of [['etcd-cafile', 'etcdCAFile'], ['etcd-certfile', 'etcdCertFile'], ['etcd-keyfile', 'etcdKeyFile']] as const) {
    const path = v.get(flag);
    if (path === '') return usage(`--${flag} needs a path`);
    if (path !== undefined) files[field] = path;
  }
  if ((files.etcdCertFile === undefined) !== (files.etcdKeyFile === undefined)) return usage('--etcd-certfile and --etcd-keyfile go together');
  return {
    kind: 'run',
    args: {
      kubeconfig,
      etcdServers,
      etcdPrefix,
      ...files,
      dryRun: flags.args.booleans.has('dry-run'),
      reverse: flags.args.booleans.has('reverse'),
    },
  };
}

async function migrate(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseMigrateArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout(migrateUsage);
    return 0;
  }
  if (parsed.kind === 'usageError') {
    io.stderr(`error: ${parsed.message}\n\n${migrateUsage}`);
    return exitUsage;
  }
  const a = parsed.args;
  const kc = new KubeConfig();
  let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
  try {
    kc.loadFromFile(a.kubeconfig);
    if (a.etcdCAFile !== undefined || a.etcdCertFile !== undefined) {
      tls = {
        ...(a.etcdCAFile === undefined ? {} : { ca: readFileSync(a.etcdCAFile) }),
        ...(a.etcdCertFile === undefined ? {} : { cert: readFileSync(a.etcdCertFile) }),
        ...(a.etcdKeyFile === undefined ? {} : { key: readFileSync(a.etcdKeyFile) }),
      };
    }
  } catch (e) {
    io.stderr(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const storage = createEtcdStorage({ endpoints: a.etcdServers, ...(tls === undefined ? {} : { tls }) });
  try {
    return await runMigration({
      api: mainApiServer(kc),
      storage,
      etcdPrefix: a.etcdPrefix,
      dryRun: a.dryRun,
      reverse: a.reverse,
      out: (line) => io.stdout(`${line}\n`),
      err: (line) => io.stderr(`${line}\n`),
    });
  } finally {
    await storage.close();
  }
}

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'copy Connectors and ConnectorClasses from the CRDs into this server (or back, --reverse)',
  run: migrate,
};
