import { expect } from 'chai';
import { cliUsage, runCli } from '../../../../apiserver/cli/cli.js';
import { exitUsage, parseFlags, type CliIo, type Command } from '../../../../apiserver/cli/command.js';
import { parseMigrateArgs } from '../../../../apiserver/cli/migrate.js';

function capture(): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('connectors-access CLI', () => {
  describe('dispatch', () => {
    const seen: (readonly string[])[] = [];
    const fake: Command = { name: 'fake', summary: 'a fake command', run: (argv) => (seen.push(argv), Promise.resolve(7)) };

    it('runs the named command with the rest of argv and returns its exit code', async () => {
      expect(await runCli(['fake', '--x', 'y'], capture(), [fake])).to.equal(7);
      expect(seen.at(-1)).to.deep.equal(['--x', 'y']);
    });

    it('prints the usage on stdout for --help and exits 0', async () => {
      const io = capture();
      expect(await runCli(['--help'], io, [fake])).to.equal(0);
      expect(io.out).to.equal(cliUsage([fake]));
      expect(io.out).to.contain('fake  a fake command');
      expect(io.err).to.equal('');
    });

    it('exits 64 with the usage on stderr, nothing on stdout, for no or an unknown command', async () => {
      for (const argv of [[], ['nope']]) {
        const io = capture();
        expect(await runCli(argv, io, [fake])).to.equal(exitUsage);
        expect(io.out).to.equal('');
        expect(io.err).to.contain('Usage: connectors-access <command>');
      }
    });

    it('lists migrate among the real commands', () => {
      expect(cliUsage()).to.match(/^ {2}migrate {2}/m);
    });
  });

  describe('flags', () => {
    const spec = { values: ['a'], booleans: ['b'] };

    it('takes --flag value, --flag=value and booleans with an optional =true|false', () => {
      const r = parseFlags(['--a', '1', '--b', '--a=2'], spec);
      expect(r.kind).to.equal('run');
      if (r.kind !== 'run') return;
      expect(r.args.values.get('a')).to.equal('2');
      expect(r.args.booleans.has('b')).to.equal(true);
      const off = parseFlags(['--b', '--b=false'], spec);
      expect(off.kind === 'run' && off.args.booleans.has('b')).to.equal(false);
    });

    it('refuses unknown flags, positional arguments, missing values and bad booleans', () => {
      for (const argv of [['--c'], ['x'], ['--a'], ['--a', '--b'], ['--b=yes'], ['-a', '1']]) {
        expect(parseFlags(argv, spec).kind, argv.join(' ')).to.equal('usageError');
      }
    });
  });

  describe('migrate flags', () => {
    const required = ['--kubeconfig', '/k', '--etcd-servers', 'http://a:2379, http://b:2379'];

    it('parses every flag of §2.3, with the defaults', () => {
      expect(parseMigrateArgs(required)).to.deep.equal({
        kind: 'run',
        args: { kubeconfig: '/k', etcdServers: ['http://a:2379', 'http://b:2379'], etcdPrefix: '/registry', dryRun: false, reverse: false },
      });
      const all = parseMigrateArgs([
        ...required,
        '--etcd-prefix=/custom',
        '--etcd-cafile', '/ca',
        '--etcd-certfile', '/crt',
        '--etcd-keyfile', '/key',
        '--dry-run',
        '--reverse',
      ]);
      expect(all).to.deep.equal({
        kind: 'run',
        args: {
          kubeconfig: '/k',
          etcdServers: ['http://a:2379', 'http://b:2379'],
          etcdPrefix: '/custom',
          etcdCAFile: '/ca',
          etcdCertFile: '/crt',
          etcdKeyFile: '/key',
          dryRun: true,
          reverse: true,
        },
      });
    });

    it('answers help for -h and --help', () => {
      expect(parseMigrateArgs(['-h']).kind).to.equal('help');
      expect(parseMigrateArgs([...required, '--help']).kind).to.equal('help');
    });

    it('is a usage error without --kubeconfig or --etcd-servers, with a bad prefix, or a cert without key', () => {
      for (const argv of [
        ['--etcd-servers', 'http://a:2379'],
        ['--kubeconfig', '/k'],
        ['--kubeconfig', '/k', '--etcd-servers', ' , '],
        [...required, '--etcd-prefix', 'registry'],
        [...required, '--etcd-certfile', '/crt'],
        [...required, '--unknown'],
      ]) {
        expect(parseMigrateArgs(argv).kind, argv.join(' ')).to.equal('usageError');
      }
    });

    it('exits 64 through the CLI on a usage error, with the migrate usage on stderr and nothing on stdout', async () => {
      const io = capture();
      expect(await runCli(['migrate', '--dry-run'], io)).to.equal(exitUsage);
      expect(io.out).to.equal('');
      expect(io.err).to.contain('--kubeconfig is required');
      expect(io.err).to.contain('Usage: connectors-access migrate');
    });

    it('prints its usage on stdout and exits 0 for --help', async () => {
      const io = capture();
      expect(await runCli(['migrate', '--help'], io)).to.equal(0);
      expect(io.out).to.contain('Usage: connectors-access migrate --kubeconfig <path> --etcd-servers <urls>');
    });
  });
});
