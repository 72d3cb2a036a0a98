import { expect } from 'chai';
import { accessPolicy, gvPath, useRestServer } from '../../support/rest.js';

const aps = (ns = 'devops'): string => `${gvPath}/namespaces/${ns}/accesspolicies`;

interface WatchEventJSON {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> } };
}

/** Opens a watch and collects events until `until` says stop or the time runs out. */
async function collect(url: string, until: (evs: WatchEventJSON[]) => boolean, ms = 5000): Promise<{ events: WatchEventJSON[]; lines: string[]; status: number; contentType: string | null }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  const events: WatchEventJSON[] = [];
  const lines: string[] = [];
  const res = await fetch(url, { signal: ctl.signal });
  let buf = '';
  try {
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        events.push(JSON.parse(buf.slice(0, nl)) as WatchEventJSON);
        buf = buf.slice(nl + 1);
      }
      if (until(events)) break;
    }
  } catch (e) {
    if (!ctl.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return { events, lines, status: res.status, contentType: res.headers.get('content-type') };
}

describe('REST watch', () => {
  const api = useRestServer({ bookmarkIntervalMs: 200 });
  const mk = async (name: string, labels?: Record<string, string>, ns = 'devops'): Promise<string> => {
    const res = await api.request('POST', aps(ns), { body: accessPolicy(name, {}, labels) });
    expect(res.status, res.text).to.equal(201);
    return res.body.metadata.resourceVersion as string;
  };

  it('streams ADDED, MODIFIED and DELETED after a resourceVersion, one JSON object per line', async () => {
    const rv = await mk('w0');
    const watching = collect(`${api.url()}${aps()}?watch=true&resourceVersion=${rv}`, (e) => e.length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    await mk('w1');
    await api.request('PATCH', `${aps()}/w1`, { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
    const del = await api.request('DELETE', `${aps()}/w1`);
    expect(del.status).to.equal(200);
    const { events, status, contentType } = await watching;
    expect(status).to.equal(200);
    expect(contentType).to.equal('application/json');
    expect(events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`)).to.deep.equal(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    const [added, modified, deleted] = events;
    expect(added?.object.kind).to.equal('AccessPolicy');
    expect(Number(deleted?.object.metadata.resourceVersion)).to.be.greaterThan(Number(modified?.object.metadata.resourceVersion));
  });

  it('gives every watcher the same bytes for an event (serialized once), typed and canonical JSON', async () => {
    const rv = await mk('shared0', undefined, 'shared');
    const url = `${api.url()}${aps('shared')}?watch=true&resourceVersion=${rv}`;
    const watchers = [collect(url, (e) => e.length >= 2), collect(url, (e) => e.length >= 2)];
    await new Promise((r) => setTimeout(r, 100));
    await mk('shared1', undefined, 'shared');
    await api.request('DELETE', `${aps('shared')}/shared1`);
    const [a, b] = await Promise.all(watchers);
    expect(a?.lines).to.have.length(2);
    expect(a?.lines).to.deep.equal(b?.lines);
    for (const line of a?.lines ?? []) {
      const ev = JSON.parse(line) as { type: string; object: { apiVersion?: string; kind?: string } };
      expect(line).to.equal(JSON.stringify({ type: ev.type, object: ev.object }));
      expect(ev.object.kind).to.equal('AccessPolicy');
      expect(ev.object.apiVersion).to.equal('connectors.alauda.io/v1alpha1');
    }
  });

  it('starts with synthetic ADDED events when resourceVersion is unset', async () => {
    await mk('s1', undefined, 'snap');
    await mk('s2', undefined, 'snap');
    const { events } = await collect(`${api.url()}${aps('snap')}?watch=1`, (e) => e.length >= 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`)).to.deep.equal(['ADDED s1', 'ADDED s2']);
  });

  it('ends the initial events with the k8s.io/initial-events-end bookmark (sendInitialEvents)', async () => {
    const list = await api.request('GET', aps('snap'));
    const { events } = await collect(
      `${api.url()}${aps('snap')}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
      (e) => e.some((x) => x.type === 'BOOKMARK'),
    );
    expect(events.map((e) => e.type)).to.deep.equal(['ADDED', 'ADDED', 'BOOKMARK']);
    const bookmark = events[2];
    expect(bookmark?.object.kind).to.equal('AccessPolicy');
    expect(bookmark?.object.metadata.annotations).to.deep.equal({ 'k8s.io/initial-events-end': 'true' });
    expect(Number(bookmark?.object.metadata.resourceVersion)).to.be.at.least(Number(list.body.metadata.resourceVersion));
  });

  it('answers 422 for sendInitialEvents without resourceVersionMatch=NotOlderThan', async () => {
    const res = await api.request('GET', `${aps()}?watch=true&sendInitialEvents=true`);
    expect(res.status).to.equal(422);
    const match = await api.request('GET', `${aps()}?watch=true&resourceVersion=1&resourceVersionMatch=NotOlderThan`);
    expect(match.status).to.equal(422);
  });

  it('sends periodic bookmarks only when allowWatchBookmarks is set', async () => {
    const rv = await mk('b1', undefined, 'bm');
    const { events } = await collect(`${api.url()}${aps('bm')}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, (e) => e.length >= 1, 3000);
    expect(events[0]?.type).to.equal('BOOKMARK');
    expect(events[0]?.object.metadata.resourceVersion).to.match(/^\d+$/);
    const without = await collect(`${api.url()}${aps('bm')}?watch=true&resourceVersion=${rv}`, () => false, 700);
    expect(without.events).to.deep.equal([]);
  });

  it('turns selector transitions into ADDED and DELETED', async () => {
    const rv = await mk('t1', { stage: 'a' }, 'trans');
    const watching = collect(`${api.url()}${aps('trans')}?watch=true&resourceVersion=${rv}&labelSelector=stage%3Db`, (e) => e.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    await api.request('PATCH', `${aps('trans')}/t1`, { body: { metadata: { labels: { stage: 'b' } } }, contentType: 'application/merge-patch+json' });
    await api.request('PATCH', `${aps('trans')}/t1`, { body: { metadata: { labels: { stage: 'c' } } }, contentType: 'application/merge-patch+json' });
    const { events } = await watching;
    expect(events.map((e) => e.type)).to.deep.equal(['ADDED', 'DELETED']);
  });

  it('ends cleanly at timeoutSeconds', async () => {
    const started = Date.now();
    const { events } = await collect(`${api.url()}${aps('empty-ns')}?watch=true&timeoutSeconds=1`, () => false, 10_000);
    expect(events).to.deep.equal([]);
    expect(Date.now() - started).to.be.below(9000);
  });

  it('answers a watch from a compacted revision with an ERROR 410 event', async () => {
    const old = await mk('c1', undefined, 'compact');
    await mk('c2', undefined, 'compact');
    // Compacting at R keeps R itself: a watch from `old` is too old only once R > old + 1.
    await mk('c3', undefined, 'compact');
    const rev = await api.storage().currentRevision();
    if (!rev.ok) throw new Error('no revision');
    await api.storage().compact(rev.value);
    const { events, status } = await collect(`${api.url()}${aps('compact')}?watch=true&resourceVersion=${old}`, (e) => e.length >= 1);
    expect(status).to.equal(200);
    expect(events[0]?.type).to.equal('ERROR');
    expect(events[0]?.object).to.include({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('answers a watch from a revision etcd never reached with an ERROR 410 event, so informers relist', async () => {
    const rev = await api.storage().currentRevision();
    if (!rev.ok) throw new Error('no revision');
    const future = (BigInt(rev.value) + 1_000_000n).toString();
    const { events, status } = await collect(`${api.url()}${aps('future')}?watch=true&resourceVersion=${future}`, (e) => e.length >= 1);
    expect(status).to.equal(200);
    expect(events[0]?.type).to.equal('ERROR');
    expect(events[0]?.object).to.include({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('watches a single object by name', async () => {
    const rv = await mk('one', undefined, 'single');
    await mk('two', undefined, 'single');
    const watching = collect(`${api.url()}${aps('single')}/one?watch=true&resourceVersion=${rv}`, (e) => e.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    await api.request('PATCH', `${aps('single')}/two`, { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' });
    await api.request('PATCH', `${aps('single')}/one`, { body: { metadata: { labels: { x: 'y' } } }, contentType: 'application/merge-patch+json' });
    const { events } = await watching;
    expect(events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`)).to.deep.equal(['MODIFIED one']);
  });
});
