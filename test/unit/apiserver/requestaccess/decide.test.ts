import { expect } from 'chai';
import type { AccessRequest } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import {
  accessRequestBody,
  apiErrorMessage,
  cliLine,
  exitCodes,
  isRetryable,
  observe,
  proxyReviews,
  requestName,
  reuseConflict,
  timedOut,
} from '../../../../apiserver/requestaccess/decide.js';
import { cond } from './fake-client.js';

// The worked example of domain spec §10.1.
const input = {
  connector: { namespace: 'devops', name: 'prod-harbor' },
  pod: { namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', uid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f', serviceAccountName: 'builder' },
};
const name = 'prod-harbor-promote-run-abc12-push-image-pod-6342dabe';

const withConditions = (...conditions: ReturnType<typeof cond>[]): AccessRequest => ({ ...accessRequestBody(input), status: { conditions } });

describe('request-access helper: pure decisions (§7)', () => {
  describe('SubjectAccessReviews (step 1, §1.4)', () => {
    it('asks for connectors/proxy first, then for this Pod, as the ServiceAccount with its groups', () => {
      const [any, pod] = proxyReviews(input);
      const common = {
        user: 'system:serviceaccount:cicd:builder',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:cicd', 'system:authenticated'],
      };
      const attrs = { group: 'connectors.alauda.io', resource: 'connectors', verb: '*', name: 'prod-harbor', namespace: 'devops' };
      expect(any).to.deep.equal({ ...common, resourceAttributes: { ...attrs, subresource: 'proxy' } });
      expect(pod).to.deep.equal({ ...common, resourceAttributes: { ...attrs, subresource: 'proxy/v1/pod/cicd/promote-run-abc12-push-image-pod' } });
    });

    it('uses ServiceAccount default when the Pod names none', () => {
      const [any] = proxyReviews({ ...input, pod: { ...input.pod, serviceAccountName: '' } });
      expect(any?.user).to.equal('system:serviceaccount:cicd:default');
    });
  });

  describe('the AccessRequest (step 2, §3.1, §6.1)', () => {
    it('derives the name of §10.1', () => {
      expect(requestName(input)).to.equal(name);
    });

    it('builds the body of §10.1: name, namespace, labels, spec', () => {
      expect(accessRequestBody(input)).to.deep.equal({
        apiVersion: 'connectors.alauda.io/v1alpha1',
        kind: 'AccessRequest',
        metadata: {
          name,
          namespace: 'devops',
          labels: {
            'connectors.cpaas.io/contextObjectKind': 'Pod',
            'connectors.cpaas.io/contextObjectName': 'promote-run-abc12-push-image-pod',
            'connectors.cpaas.io/contextObjectNamespace': 'cicd',
            'connectors.cpaas.io/connector': 'prod-harbor',
          },
        },
        spec: {
          connectorRef: { name: 'prod-harbor' },
          context: { objectRef: { apiVersion: 'v1', kind: 'Pod', namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', uid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f' } },
          subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd', apiGroup: '' },
        },
      });
    });

    it('puts long label values through labelValue()', () => {
      const long = 'release-candidate-pipeline-run-20260330-build-and-push-image-to-registry-pod';
      const body = accessRequestBody({ ...input, pod: { ...input.pod, name: long } });
      expect(body.metadata.labels?.['connectors.cpaas.io/contextObjectName']).to.equal('release-candidate-pipeline-run-20260330-build-and-push-ee4c137a');
      expect(body.spec.context.objectRef.name).to.equal(long);
    });

    it('hashes the subject and the Pod uid into the name', () => {
      expect(requestName({ ...input, pod: { ...input.pod, uid: 'other' } })).to.not.equal(name);
      expect(requestName({ ...input, pod: { ...input.pod, serviceAccountName: 'other' } })).to.not.equal(name);
      expect(requestName({ ...input, pod: { ...input.pod, serviceAccountName: '' } })).to.equal(
        requestName({ ...input, pod: { ...input.pod, serviceAccountName: 'default' } }),
      );
    });
  });

  describe('reuse of an existing AccessRequest', () => {
    const wanted = accessRequestBody(input);
    const stored = (mut: (ar: AccessRequest) => void): AccessRequest => {
      const ar = structuredClone(wanted);
      ar.metadata.uid = 'u1';
      mut(ar);
      return ar;
    };

    it('reuses an equal one, whatever its labels, status or server defaults', () => {
      expect(reuseConflict(stored(() => undefined), wanted)).to.equal(undefined);
      expect(
        reuseConflict(
          stored((ar) => {
            ar.metadata.labels = {};
            ar.status = { conditions: [cond('Ready', 'Unknown', 'Pending')] };
            delete ar.spec.subject.apiGroup; // "" and absent are the same
          }),
          wanted,
        ),
      ).to.equal(undefined);
    });

    for (const [what, mut] of [
      ['subject name', (ar: AccessRequest) => void (ar.spec.subject.name = 'deployer')],
      ['subject kind', (ar: AccessRequest) => void (ar.spec.subject = { kind: 'User', name: 'builder', apiGroup: 'rbac.authorization.k8s.io' })],
      ['connector', (ar: AccessRequest) => void (ar.spec.connectorRef.name = 'other')],
      ['Pod namespace', (ar: AccessRequest) => void (ar.spec.context.objectRef.namespace = 'other')],
      ['Pod name', (ar: AccessRequest) => void (ar.spec.context.objectRef.name = 'other')],
      ['Pod uid', (ar: AccessRequest) => void (ar.spec.context.objectRef.uid = 'other')],
      ['missing Pod uid', (ar: AccessRequest) => void delete ar.spec.context.objectRef.uid],
    ] as const) {
      it(`refuses one with another ${what}`, () => {
        expect(reuseConflict(stored(mut), wanted)).to.match(new RegExp(`^AccessRequest devops/${name} exists for another request: `));
      });
    }
  });

  describe('the observed object (step 3 table, first row wins)', () => {
    it('keeps waiting without status or while Pending / NoMatch / Failed / SyncFailed', () => {
      expect(observe(accessRequestBody(input))).to.deep.equal({ kind: 'waiting' });
      for (const reason of ['Pending', 'NoMatch', 'Failed', 'SyncFailed', 'NotFound']) {
        expect(observe(withConditions(cond('Ready', reason === 'Pending' ? 'Unknown' : 'False', reason, 'm'))), reason).to.deep.equal({ kind: 'waiting' });
      }
    });

    it('Ready=True → ready (even when other conditions say otherwise)', () => {
      expect(observe(withConditions(cond('AccessCheckReady', 'False', 'Rejected', 'x'), cond('Ready', 'True', 'Synced')))).to.deep.equal({ kind: 'ready' });
      expect(observe(withConditions(cond('Ready', 'True', 'NoPermissionRequired')))).to.deep.equal({ kind: 'ready' });
    });

    it('AccessCheckReady=False/Rejected or ApproverMismatch → rejected with its message', () => {
      for (const reason of ['Rejected', 'ApproverMismatch']) {
        expect(
          observe(withConditions(cond('AccessCheckReady', 'False', reason, 'check says no'), cond('ContextObjectValid', 'False', 'Completed', 'done'), cond('Ready', 'False', reason, 'r'))),
        ).to.deep.equal({ kind: 'final', result: 'rejected', reason, message: 'check says no' });
      }
      expect(observe(withConditions(cond('AccessCheckReady', 'False', 'Failed', 'bad rego')))).to.deep.equal({ kind: 'waiting' });
    });

    it('Ready=False/Expired → rejected/Expired', () => {
      expect(observe(withConditions(cond('ContextObjectValid', 'False', 'Completed', 'c'), cond('Ready', 'False', 'Expired', 'grant expired at T')))).to.deep.equal({
        kind: 'final',
        result: 'rejected',
        reason: 'Expired',
        message: 'grant expired at T',
      });
    });

    it('ContextObjectValid=False → failed/<its reason>', () => {
      const msg = 'Pod cicd/p runs as ServiceAccount cicd/default, not cicd/builder';
      expect(observe(withConditions(cond('ContextObjectValid', 'False', 'SubjectMismatch', msg), cond('Ready', 'False', 'SubjectMismatch', msg)))).to.deep.equal({
        kind: 'final',
        result: 'failed',
        reason: 'SubjectMismatch',
        message: msg,
      });
    });

    it('Ready=Unknown/FeatureDisabled → failed/FeatureDisabled', () => {
      const msg = 'feature flags not enabled: enable-connectors-approval';
      expect(observe(withConditions(cond('Ready', 'Unknown', 'FeatureDisabled', msg)))).to.deep.equal({ kind: 'final', result: 'failed', reason: 'FeatureDisabled', message: msg });
    });
  });

  describe('timeout', () => {
    it('is pending/Pending, "not evaluated yet", before any status', () => {
      expect(timedOut('devops', name, 30_000, null)).to.deep.equal({
        result: 'pending',
        reason: 'Pending',
        message: `timed out after 30s waiting for AccessRequest devops/${name}: not evaluated yet`,
        accessRequest: null,
      });
    });

    it("carries Ready's reason and message", () => {
      const ar = withConditions(cond('Ready', 'False', 'NoMatch', 'no AccessPolicy with checkGrantedPermission in namespace devops selects Connector prod-harbor'));
      const r = timedOut('devops', name, 1500, ar);
      expect(r.reason).to.equal('NoMatch');
      expect(r.message).to.equal(`timed out after 1.5s waiting for AccessRequest devops/${name}: no AccessPolicy with checkGrantedPermission in namespace devops selects Connector prod-harbor`);
      expect(r.accessRequest).to.equal(ar);
    });
  });

  describe('API errors', () => {
    it('retries connection errors, 429 and 5xx only', () => {
      expect([undefined, 429, 500, 503, 400, 403, 404, 409, 410, 422].map((code) => isRetryable({ code, message: '' }))).to.deep.equal([
        true,
        true,
        true,
        true,
        false,
        false,
        false,
        false,
        false,
        false,
      ]);
    });

    it('names the operation, the HTTP code and the Status message', () => {
      expect(apiErrorMessage('create AccessRequest devops/x', { code: 403, message: 'forbidden' })).to.equal('create AccessRequest devops/x: HTTP 403: forbidden');
      expect(apiErrorMessage('get AccessRequest devops/x', { code: undefined, message: 'ECONNREFUSED' })).to.equal('get AccessRequest devops/x: ECONNREFUSED');
    });
  });

  describe('CLI output', () => {
    it('prints one JSON line with the request as namespace/name', () => {
      const ar = { ...accessRequestBody(input), status: {} };
      expect(JSON.parse(cliLine({ result: 'rejected', reason: 'Rejected', message: 'm', accessRequest: ar }))).to.deep.equal({
        result: 'rejected',
        reason: 'Rejected',
        message: 'm',
        accessRequest: { namespace: 'devops', name },
      });
      expect(cliLine({ result: 'granted', reason: 'AlreadyPermitted', message: '', accessRequest: null })).to.equal(
        '{"result":"granted","reason":"AlreadyPermitted","message":"","accessRequest":null}',
      );
    });

    it('maps results to exit codes 0 granted, 1 failed, 2 pending, 3 rejected', () => {
      expect(exitCodes).to.deep.equal({ granted: 0, failed: 1, pending: 2, rejected: 3 });
    });
  });
});
