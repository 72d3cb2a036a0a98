import { expect } from 'chai';
import type { FieldError } from '../../../../../../apiserver/api/field.js';
import { defaultAccessReview, validateAccessReview } from '../../../../../../apiserver/apis/connectors/validation/accessreview.js';
import type { AccessReview, AccessReviewSpec } from '../../../../../../apiserver/apis/connectors/v1alpha1/types.js';

const show = (errs: readonly FieldError[]): string[] => errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const review = (spec: unknown): AccessReview => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'AccessReview',
  metadata: { namespace: 'devops' },
  spec: spec as AccessReviewSpec,
});

const sa = { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd' };
const podRef = { kind: 'Pod', namespace: 'cicd', name: 'promote-run-abc12-push-image-pod' };
const template = { namespace: 'cicd', name: 'promote-run-abc12-push-image-pod', labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' }, serviceAccountName: 'builder' };
const valid = (context: unknown): unknown => ({ connectorRef: { name: 'prod-harbor' }, subject: sa, context });
const check = (spec: unknown): string[] => show(validateAccessReview(defaultAccessReview(review(spec))));

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('validateAccessReview (§11.3)', () => {
  it('accepts an existing Pod and a Pod template', () => {
    expect(check(valid({ objectRef: podRef }))).to.deep.equal([]);
    expect(check(valid({ podTemplate: template }))).to.deep.equal([]);
    expect(check(valid({ podTemplate: { namespace: 'cicd' } }))).to.deep.equal([]);
  });

  it('requires spec', () => {
    expect(check(undefined)).to.deep.equal(['FieldValueRequired spec: Required value']);
  });

  it('RV-V1: exactly one of objectRef and podTemplate', () => {
    expect(check(valid({}))).to.deep.equal(['FieldValueRequired spec.context: Required value: must specify one of objectRef or podTemplate']);
    expect(check(valid(undefined))).to.deep.equal(['FieldValueRequired spec.context: Required value: must specify one of objectRef or podTemplate']);
    expect(check(valid({ objectRef: podRef, podTemplate: template }))).to.deep.equal(['FieldValueForbidden spec.context: Forbidden: may not specify both objectRef and podTemplate']);
  });

  it('validates objectRef as AR-V4…AR-V7', () => {
    expect(check(valid({ objectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'x' } }))).to.deep.equal([
      'FieldValueNotSupported spec.context.objectRef.kind: Unsupported value: "Deployment": supported values: "Pod"',
      'FieldValueNotSupported spec.context.objectRef.apiVersion: Unsupported value: "apps/v1": supported values: "v1"',
      'FieldValueRequired spec.context.objectRef.namespace: Required value',
    ]);
  });

  it('validates the Pod template: namespace required, names, labels', () => {
    expect(check(valid({ podTemplate: { name: 'Bad_Name', labels: { 'a b': 'c' }, serviceAccountName: '-x' } }))).to.deep.equal([
      'FieldValueRequired spec.context.podTemplate.namespace: Required value',
      `FieldValueInvalid spec.context.podTemplate.name: Invalid value: "Bad_Name": ${subdomainMsg}`,
      `FieldValueInvalid spec.context.podTemplate.labels: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      `FieldValueInvalid spec.context.podTemplate.serviceAccountName: Invalid value: "-x": ${subdomainMsg}`,
    ]);
  });

  it('validates connectorRef (AR-V2) and subject (AR-V8…AR-V14), all causes in field order', () => {
    expect(check({ connectorRef: {}, context: { podTemplate: template }, subject: { kind: 'Robot', name: '' } })).to.deep.equal([
      'FieldValueRequired spec.connectorRef.name: Required value',
      'FieldValueNotSupported spec.subject.kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      'FieldValueRequired spec.subject.name: Required value',
    ]);
    expect(check({ connectorRef: { name: 'prod-harbor' }, context: { podTemplate: template }, subject: { kind: 'User', name: 'alice', namespace: 'cicd' } })).to.deep.equal([
      "FieldValueForbidden spec.subject.namespace: Forbidden: may not be specified when kind is 'User'",
    ]);
  });

  it('defaults objectRef apiVersion and the subject apiGroup (AR-S3)', () => {
    const r = defaultAccessReview(review({ connectorRef: { name: 'c' }, subject: { kind: 'User', name: 'alice' }, context: { objectRef: podRef } }));
    expect(r.spec.context.objectRef?.apiVersion).to.equal('v1');
    expect(r.spec.subject.apiGroup).to.equal('rbac.authorization.k8s.io');
  });
});
