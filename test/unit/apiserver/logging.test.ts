import { expect } from 'chai';
import { createLogger, formatLatency } from '../../../apiserver/logging.js';

function capture(verbosity: number): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    verbosity,
    now: () => 1700000000000,
    write: (line) => {
      expect(line.endsWith('\n')).to.equal(true);
      expect(line.slice(0, -1)).not.to.include('\n');
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { lines, logger };
}

describe('createLogger', () => {
  it('writes one JSON object per line with ts, level, v and msg first', () => {
    const { lines, logger } = capture(0);
    logger.info('serving', { address: '127.0.0.1:1' });
    expect(lines).to.deep.equal([{ ts: 1700000000000, level: 'info', v: 0, msg: 'serving', address: '127.0.0.1:1' }]);
    expect(Object.keys(lines[0] ?? {})).to.deep.equal(['ts', 'level', 'v', 'msg', 'address']);
  });

  it('drops info lines above the verbosity and keeps errors and warnings', () => {
    const { lines, logger } = capture(0);
    logger.info('request', {}, 2);
    logger.warn('careful');
    logger.error('broken', new Error('etcd down'));
    expect(lines.map((l) => [l['level'], l['msg']])).to.deep.equal([
      ['warn', 'careful'],
      ['error', 'broken'],
    ]);
    expect(lines[1]?.['err']).to.include('etcd down');
  });

  it('writes request lines at -v=2 and debug lines at -v=4', () => {
    const two = capture(2);
    two.logger.info('HTTP', { code: 200 }, 2);
    two.logger.info('detail', {}, 4);
    expect(two.lines.map((l) => l['msg'])).to.deep.equal(['HTTP']);
    const four = capture(4);
    four.logger.info('detail', {}, 4);
    expect(four.lines[0]).to.include({ level: 'debug', v: 4 });
  });

  it('never lets a field overwrite ts, level or msg', () => {
    const { lines, logger } = capture(0);
    logger.info('real', { msg: 'fake', level: 'error', ts: 1 });
    expect(lines[0]).to.include({ msg: 'real', level: 'info', ts: 1700000000000 });
  });

  it('maps the { msg, err } bags of older call sites to levels', () => {
    const { lines, logger } = capture(0);
    logger.log({ msg: 'authorization', err: 'SAR failed' });
    logger.log({ msg: 'authentication configuration changed' });
    expect(lines.map((l) => l['level'])).to.deep.equal(['error', 'info']);
    expect(lines[0]?.['err']).to.equal('SAR failed');
  });
});

describe('formatLatency', () => {
  const cases: { ms: number; want: string }[] = [
    { ms: 0, want: '0s' },
    { ms: 0.5124, want: '512.4µs' },
    { ms: 12.3, want: '12.3ms' },
    { ms: 1500, want: '1.5s' },
    { ms: 63_500, want: '1m3.5s' },
    { ms: 3_600_000, want: '1h0m0s' },
  ];
  for (const tc of cases) {
    it(`formats ${String(tc.ms)}ms as ${tc.want}`, () => {
      expect(formatLatency(tc.ms)).to.equal(tc.want);
    });
  }
});
