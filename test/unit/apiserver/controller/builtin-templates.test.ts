/**
 * The built-in templates (§8): the server's copy equals manifests/templates.yaml, and at start-up the
 * missing ones are created, existing ones (409) never overwritten, failures retried.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { builtinTemplates, ensureBuiltinTemplates } from '../../../../apiserver/controller/builtin-templates.js';
import type { KubeClient, KubeResponse } from '../../../../apiserver/controller/kube-client.js';

const manifest = new URL('../../../../manifests/templates.yaml', import.meta.url);

type Reply = { ok: true; code: number } | { ok: false; code: number; message: string };

function scripted(reply: (name: string, attempt: number) => Reply): { client: KubeClient; sent: { method: string; path: string; name: string }[] } {
  const sent: { method: string; path: string; name: string }[] = [];
  const attempts = new Map<string, number>();
  const client: KubeClient = {
    call: <T>(method: string, path: string, body?: unknown): Promise<KubeResponse<T>> => {
      const name = (body as { metadata: { name: string } }).metadata.name;
      sent.push({ method, path, name });
      const n = (attempts.get(name) ?? 0) + 1;
      attempts.set(name, n);
      const r = reply(name, n);
      return Promise.resolve(r.ok ? { ok: true, code: r.code, body: undefined as T } : r);
    },
    watch: () => Promise.resolve({ code: 200 }),
  };
  return { client, sent };
}

describe('built-in templates', () => {
  it('are exactly the ConfigMaps of manifests/templates.yaml', () => {
    const docs = parseAllDocuments(readFileSync(manifest, 'utf8')).map((d) => d.toJS() as unknown);
    expect(builtinTemplates('connectors-system')).to.deep.equal(docs);
  });

  it('live in the system namespace given', () => {
    expect(builtinTemplates('other-ns').map((t) => t.metadata.namespace)).to.deep.equal(['other-ns', 'other-ns', 'other-ns']);
  });

  it('creates the missing ones, leaves existing ones (409) alone and never writes anything else', async () => {
    const { client, sent } = scripted((name) => (name === 'connectors-use-connectors-proxy' ? { ok: false, code: 409, message: 'exists' } : { ok: true, code: 201 }));
    const created = await ensureBuiltinTemplates({ client, namespace: 'connectors-system', log: () => undefined, signal: new AbortController().signal });
    expect(created).to.deep.equal(['connectors-use-connectors-proxy-in-pod', 'connectors-approvals-in-pipeline']);
    expect(sent.map((s) => s.method)).to.deep.equal(['POST', 'POST', 'POST']);
    expect(new Set(sent.map((s) => s.path))).to.deep.equal(new Set(['/api/v1/namespaces/connectors-system/configmaps']));
  });

  it('retries the ones that failed until they exist', async () => {
    const { client, sent } = scripted((name, attempt) =>
      name === 'connectors-approvals-in-pipeline' && attempt < 3 ? { ok: false, code: 503, message: 'unavailable' } : { ok: true, code: 201 },
    );
    const logged: Record<string, unknown>[] = [];
    const created = await ensureBuiltinTemplates({
      client, namespace: 'connectors-system', log: (e) => logged.push(e), signal: new AbortController().signal, retryMs: { initial: 1, max: 4 },
    });
    expect(created).to.have.members(['connectors-use-connectors-proxy', 'connectors-use-connectors-proxy-in-pod', 'connectors-approvals-in-pipeline']);
    expect(sent.filter((s) => s.name === 'connectors-approvals-in-pipeline')).to.have.length(3);
    expect(sent.filter((s) => s.name === 'connectors-use-connectors-proxy')).to.have.length(1);
    expect(logged.filter((e) => e['level'] === 'warning')).to.have.length(2);
  });

  it('stops retrying when the signal ends it', async () => {
    const { client } = scripted(() => ({ ok: false, code: 404, message: 'namespaces "connectors-system" not found' }));
    const stop = new AbortController();
    const done = ensureBuiltinTemplates({ client, namespace: 'connectors-system', log: () => undefined, signal: stop.signal, retryMs: { initial: 10_000, max: 10_000 } });
    setTimeout(() => stop.abort(), 20);
    expect(await done).to.deep.equal([]);
  });
});
