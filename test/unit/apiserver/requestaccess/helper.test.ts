import { expect } from 'chai';
import { accessRequestBody } from '../../../../apiserver/requestaccess/decide.js';
import { type HelperDeps, requestAccessWith } from '../../../../apiserver/requestaccess/helper.js';
import { FakeCluster, cond, until } from './fake-client.js';

const input = {
  connector: { namespace: 'devops', name: 'prod-harbor' },
  pod: { namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', uid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f', serviceAccountName: 'builder' },
  timeoutMs: 2000,
  propagationTimeoutMs: 200,
};
const name = 'prod-harbor-promote-run-abc12-push-image-pod-6342dabe';
const deps: HelperDeps = { retryDelaysMs: [1, 2, 3], propagationPollMs: 5 };
const podSubresource = 'proxy/v1/pod/cicd/promote-run-abc12-push-image-pod';

describe('request-access helper against a fake main API server (§7)', () => {
  let k: FakeCluster;
  beforeEach(() => {
    k = new FakeCluster();
  });

  describe('step 1: SubjectAccessReviews', () => {
    it('proxy allowed → granted/AlreadyPermitted, no AccessRequest', async () => {
      k.allow = (s) => s.resourceAttributes.subresource === 'proxy';
      expect(await requestAccessWith(k, input, deps)).to.deep.equal({ result: 'granted', reason: 'AlreadyPermitted', message: '', accessRequest: null });
      expect(k.calls).to.deep.equal(['sar proxy']);
    });

    it('only the Pod form allowed → granted/AlreadyPermitted after both SARs', async () => {
      k.allow = (s) => s.resourceAttributes.subresource === podSubresource;
      expect((await requestAccessWith(k, input, deps)).reason).to.equal('AlreadyPermitted');
      expect(k.calls).to.deep.equal(['sar proxy', `sar ${podSubresource}`]);
    });

    it('a SAR that errors with 403 → failed/APIError without retries', async () => {
      k.failures.sar.push({ code: 403, message: 'subjectaccessreviews.authorization.k8s.io is forbidden' });
      const r = await requestAccessWith(k, input, deps);
      expect(r.result).to.equal('failed');
      expect(r.reason).to.equal('APIError');
      expect(r.message).to.contain('HTTP 403: subjectaccessreviews.authorization.k8s.io is forbidden');
      expect(k.calls).to.deep.equal(['sar proxy']);
    });

    it('retries connection errors, 429 and 5xx three times', async () => {
      k.failures.sar.push({ code: undefined, message: 'ECONNRESET' }, { code: 429, message: 'slow down' }, { code: 503, message: 'unavailable' });
      k.allow = () => true;
      expect((await requestAccessWith(k, input, deps)).reason).to.equal('AlreadyPermitted');
      expect(k.calls).to.have.length(4);
    });

    it('gives up after the third retry with failed/APIError', async () => {
      for (let i = 0; i < 4; i++) k.failures.sar.push({ code: 500, message: `boom ${String(i)}` });
      const r = await requestAccessWith(k, input, deps);
      expect([r.result, r.reason]).to.deep.equal(['failed', 'APIError']);
      expect(r.message).to.contain('HTTP 500: boom 3');
      expect(k.calls).to.have.length(4);
    });
  });

  describe('step 2: create or reuse', () => {
    it('creates the AccessRequest of §10.1 once both SARs are denied', async () => {
      const p = requestAccessWith(k, input, deps);
      await until(() => k.objects.size === 1, 'the AccessRequest');
      const stored = k.objects.get(`devops/${name}`);
      const body = accessRequestBody(input);
      expect(stored?.spec).to.deep.equal(body.spec);
      expect(stored?.metadata.labels).to.deep.equal(body.metadata.labels);
      k.setConditions('devops', name, [cond('AccessCheckReady', 'False', 'Rejected', 'no'), cond('Ready', 'False', 'Rejected', 'no')]);
      await p;
      expect(k.calls.slice(0, 3)).to.deep.equal(['sar proxy', `sar ${podSubresource}`, `create ${name}`]);
    });

    it('reuses an existing equal AccessRequest and answers from its status at once', async () => {
      const existing = k.put(accessRequestBody(input));
      k.setConditions('devops', name, [cond('AccessCheckReady', 'False', 'Rejected', 'ApprovalTask cicd/t was rejected')]);
      const r = await requestAccessWith(k, input, deps);
      expect([r.result, r.reason, r.message]).to.deep.equal(['rejected', 'Rejected', 'ApprovalTask cicd/t was rejected']);
      expect(r.accessRequest?.metadata.uid).to.equal(existing.metadata.uid);
      expect(k.calls.filter((c) => c.startsWith('create') || c.startsWith('get'))).to.deep.equal([`create ${name}`, `get ${name}`]);
    });

    it('refuses to reuse one made for another Pod uid → failed/AccessRequestConflict', async () => {
      const other = accessRequestBody(input);
      other.spec.context.objectRef.uid = 'someone-else';
      k.put(other);
      const r = await requestAccessWith(k, input, deps);
      expect([r.result, r.reason]).to.deep.equal(['failed', 'AccessRequestConflict']);
      expect(r.message).to.contain('uid someone-else');
      expect(r.accessRequest?.spec.context.objectRef.uid).to.equal('someone-else');
    });

    it('409 then 404 on the GET → POSTs once more', async () => {
      k.failures.create.push({ code: 409, message: 'already exists' });
      k.failures.get.push({ code: 404, message: 'not found' });
      const p = requestAccessWith(k, { ...input, timeoutMs: 100 }, deps);
      const r = await p;
      expect(r.result).to.equal('pending');
      expect(k.calls.filter((c) => c.startsWith('create') || c.startsWith('get'))).to.deep.equal([`create ${name}`, `get ${name}`, `create ${name}`]);
    });

    it('409 and 404 twice → failed/APIError', async () => {
      k.failures.create.push({ code: 409, message: 'already exists' }, { code: 409, message: 'already exists' });
      k.failures.get.push({ code: 404, message: 'gone' }, { code: 404, message: 'gone again' });
      const r = await requestAccessWith(k, input, deps);
      expect([r.result, r.reason]).to.deep.equal(['failed', 'APIError']);
      expect(r.message).to.equal(`get AccessRequest devops/${name}: HTTP 404: gone again`);
    });

    it('a create refused with 403 → failed/APIError naming the call', async () => {
      k.failures.create.push({ code: 403, message: 'accessrequests.connectors.alauda.io is forbidden' });
      const r = await requestAccessWith(k, input, deps);
      expect(r).to.deep.equal({
        result: 'failed',
        reason: 'APIError',
        message: `create AccessRequest devops/${name}: HTTP 403: accessrequests.connectors.alauda.io is forbidden`,
        accessRequest: null,
      });
    });
  });

  describe('step 3: the wait', () => {
    /** Starts the helper and waits for its watch; the result promise is wrapped (an async function would adopt it). */
    const start = async (over: Partial<typeof input> = {}): Promise<{ p: ReturnType<typeof requestAccessWith> }> => {
      const p = requestAccessWith(k, { ...input, ...over }, deps);
      await until(() => k.openWatches === 1, 'the watch');
      return { p };
    };

    it('Ready=True and the SAR turns allowed → granted/Approved with an empty message', async () => {
      const { p } = await start();
      k.setConditions('devops', name, [cond('Ready', 'Unknown', 'Pending', 'M')]);
      k.setConditions('devops', name, [cond('Ready', 'True', 'Synced')]);
      setTimeout(() => (k.allow = (s) => s.resourceAttributes.subresource === podSubresource), 30);
      const r = await p;
      expect([r.result, r.reason, r.message]).to.deep.equal(['granted', 'Approved', '']);
      expect(r.accessRequest?.status?.conditions?.[0]?.reason).to.equal('Synced');
    });

    it('Ready=True but the SAR stays denied → failed/PermissionNotEffective after the propagation budget', async () => {
      const { p } = await start({ propagationTimeoutMs: 60 });
      const t0 = Date.now();
      k.setConditions('devops', name, [cond('Ready', 'True', 'Synced')]);
      const r = await p;
      expect([r.result, r.reason]).to.deep.equal(['failed', 'PermissionNotEffective']);
      expect(Date.now() - t0).to.be.within(50, 1000);
    });

    it('the propagation budget is its own: it may run past timeoutMs', async () => {
      const { p } = await start({ timeoutMs: 150, propagationTimeoutMs: 2000 });
      k.setConditions('devops', name, [cond('Ready', 'True', 'Synced')]);
      setTimeout(() => (k.allow = () => true), 300);
      expect((await p).reason).to.equal('Approved');
    });

    for (const [what, conditions, expected] of [
      ['AccessCheckReady=False/Rejected', [cond('AccessCheckReady', 'False', 'Rejected', 'manual-approval (policy p): ApprovalTask cicd/t was rejected'), cond('Ready', 'False', 'Rejected', 'x')], ['rejected', 'Rejected', 'manual-approval (policy p): ApprovalTask cicd/t was rejected']],
      ['AccessCheckReady=False/ApproverMismatch', [cond('AccessCheckReady', 'False', 'ApproverMismatch', 'not listed'), cond('Ready', 'False', 'ApproverMismatch', 'not listed')], ['rejected', 'ApproverMismatch', 'not listed']],
      ['Ready=False/Expired', [cond('AccessCheckReady', 'True', 'Passed'), cond('Ready', 'False', 'Expired', 'grant expired at 2026-01-01T00:00:00Z (maxDuration 30m of AccessPolicy p)')], ['rejected', 'Expired', 'grant expired at 2026-01-01T00:00:00Z (maxDuration 30m of AccessPolicy p)']],
      ['ContextObjectValid=False/NotFound', [cond('ContextObjectValid', 'False', 'NotFound', 'Pod cicd/p not found'), cond('Ready', 'False', 'NotFound', 'Pod cicd/p not found')], ['failed', 'NotFound', 'Pod cicd/p not found']],
      ['Ready=Unknown/FeatureDisabled', [cond('Ready', 'Unknown', 'FeatureDisabled', 'feature flags not enabled: enable-connectors-approval')], ['failed', 'FeatureDisabled', 'feature flags not enabled: enable-connectors-approval']],
    ] as const) {
      it(`${what} → ${expected[0]}/${expected[1]}`, async () => {
        const { p } = await start();
        k.setConditions('devops', name, [...conditions]);
        const r = await p;
        expect([r.result, r.reason, r.message]).to.deep.equal([...expected]);
        expect(r.accessRequest?.metadata.name).to.equal(name);
      });
    }

    it('the request deleted → failed/AccessRequestDeleted', async () => {
      const { p } = await start();
      k.remove('devops', name);
      const r = await p;
      expect([r.result, r.reason, r.message]).to.deep.equal(['failed', 'AccessRequestDeleted', `AccessRequest devops/${name} was deleted`]);
    });

    it('timeoutMs → pending with the Ready reason and message', async () => {
      const { p } = await start({ timeoutMs: 120 });
      k.setConditions('devops', name, [cond('AccessPolicyMatched', 'False', 'NoMatch', 'no AccessPolicy'), cond('Ready', 'False', 'NoMatch', 'no AccessPolicy')]);
      const r = await p;
      expect([r.result, r.reason, r.message]).to.deep.equal(['pending', 'NoMatch', `timed out after 0.12s waiting for AccessRequest devops/${name}: no AccessPolicy`]);
      expect(k.openWatches).to.equal(0);
    });

    it('timeoutMs before any status → pending/Pending, not evaluated yet', async () => {
      const r = await (await start({ timeoutMs: 50 })).p;
      expect([r.result, r.reason, r.message]).to.deep.equal(['pending', 'Pending', `timed out after 0.05s waiting for AccessRequest devops/${name}: not evaluated yet`]);
      expect(r.accessRequest?.metadata.name).to.equal(name);
    });

    it('a closed watch → GET and re-watch from the fresh resourceVersion', async () => {
      const { p } = await start();
      k.setConditions('devops', name, [cond('Ready', 'Unknown', 'Pending', 'M')]);
      await until(() => k.objects.get(`devops/${name}`)?.metadata.resourceVersion === '102', 'the write');
      k.closeWatches();
      await until(() => k.calls.filter((c) => c.startsWith('watch')).length === 2 && k.openWatches === 1, 'the second watch');
      expect(k.calls.filter((c) => c.startsWith('watch') || c.startsWith('get'))).to.deep.equal([`watch ${name}@101`, `get ${name}`, `watch ${name}@102`]);
      k.setConditions('devops', name, [cond('AccessCheckReady', 'False', 'Rejected', 'no')]);
      expect((await p).reason).to.equal('Rejected');
    });

    it('a 410 on the watch (refused or as an ERROR event) → GET and re-watch', async () => {
      k.failures.watch.push({ code: 410, message: 'too old resource version' });
      const { p } = await start();
      k.errorWatches({ code: 410, message: 'too old resource version' });
      await until(() => k.calls.filter((c) => c.startsWith('watch')).length === 3 && k.openWatches === 1, 'the third watch');
      k.setConditions('devops', name, [cond('Ready', 'Unknown', 'FeatureDisabled', 'off')]);
      expect((await p).reason).to.equal('FeatureDisabled');
    });

    it('a watch refused with 403 → failed/APIError', async () => {
      k.failures.watch.push({ code: 403, message: 'cannot watch' });
      const r = await requestAccessWith(k, input, deps);
      expect([r.result, r.reason, r.message]).to.deep.equal(['failed', 'APIError', `watch AccessRequest devops/${name}: HTTP 403: cannot watch`]);
    });

    it('the request gone when re-reading after a closed watch → failed/AccessRequestDeleted', async () => {
      const { p } = await start();
      k.failures.get.push({ code: 404, message: 'not found' });
      k.closeWatches();
      expect((await p).reason).to.equal('AccessRequestDeleted');
    });

    it('the caller aborting → failed/Aborted', async () => {
      const ac = new AbortController();
      const p = requestAccessWith(k, { ...input, signal: ac.signal }, deps);
      await until(() => k.openWatches === 1, 'the watch');
      ac.abort();
      const r = await p;
      expect([r.result, r.reason]).to.deep.equal(['failed', 'Aborted']);
      expect(r.accessRequest?.metadata.name).to.equal(name);
      expect(k.openWatches).to.equal(0);
    });
  });
});
