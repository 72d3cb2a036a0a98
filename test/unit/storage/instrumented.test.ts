import { expect } from 'chai';
import { err, ok, type Result, type Storage, type StorageError } from '../../../storage/interface.js';
import { instrumentStorage, type StorageOperation } from '../../../storage/instrumented.js';

const obj = { metadata: { name: 'a', resourceVersion: '5' } };

/** A storage whose calls answer at once: found, missing, or etcd down. */
const fake = (mode: 'ok' | 'missing' | 'down' | 'throw'): Storage => {
  const answer = <T>(value: T): Promise<Result<T, StorageError>> => {
    switch (mode) {
      case 'ok':
        return Promise.resolve(ok(value));
      case 'missing':
        return Promise.resolve(err({ kind: 'KeyNotFound', key: 'k' }));
      case 'down':
        return Promise.resolve(err({ kind: 'Unavailable', message: 'no leader' }));
      case 'throw':
        return Promise.reject(new Error('bug'));
    }
  };
  return {
    create: () => answer(obj),
    get: () => answer(obj),
    list: () => answer({ items: [], resourceVersion: '5' }),
    guaranteedUpdate: () => answer({ object: obj, deleted: false }),
    delete: () => answer(obj),
    watch: async function* () {
      yield* [];
    },
    currentRevision: () => answer('5'),
    compact: () => answer(undefined),
    close: () => Promise.resolve(),
  } as unknown as Storage;
};

describe('instrumentStorage', () => {
  const observed = (): { seen: [StorageOperation, string, boolean][]; observer: { observe: (op: StorageOperation, key: string, s: number, failed: boolean) => void } } => {
    const seen: [StorageOperation, string, boolean][] = [];
    return {
      seen,
      observer: {
        observe: (op, key, s, failed) => {
          expect(s).to.be.at.least(0);
          seen.push([op, key, failed]);
        },
      },
    };
  };

  it('reports each call with its operation and key, and passes the result through', async () => {
    const { seen, observer } = observed();
    const s = instrumentStorage(fake('ok'), observer);
    expect(await s.get('/r/g/things/ns/a')).to.deep.equal(ok(obj));
    await s.create('/r/g/things/ns/b', obj);
    await s.list('/r/g/things/', {});
    await s.guaranteedUpdate('/r/g/things/ns/a', () => ({ kind: 'unchanged' }));
    await s.delete('/r/g/things/ns/a');
    await s.currentRevision();
    await s.compact('5');
    expect(seen).to.deep.equal([
      ['get', '/r/g/things/ns/a', false],
      ['create', '/r/g/things/ns/b', false],
      ['list', '/r/g/things/', false],
      ['update', '/r/g/things/ns/a', false],
      ['delete', '/r/g/things/ns/a', false],
      ['count', '', false],
      ['compact', '', false],
    ]);
  });

  it('does not count an expected error as a failure', async () => {
    const { seen, observer } = observed();
    await instrumentStorage(fake('missing'), observer).get('/k');
    expect(seen).to.deep.equal([['get', '/k', false]]);
  });

  it('counts Unavailable and rejections as failures', async () => {
    const { seen, observer } = observed();
    await instrumentStorage(fake('down'), observer).get('/k');
    let threw = false;
    try {
      await instrumentStorage(fake('throw'), observer).get('/k');
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
    expect(seen).to.deep.equal([
      ['get', '/k', true],
      ['get', '/k', true],
    ]);
  });
});
