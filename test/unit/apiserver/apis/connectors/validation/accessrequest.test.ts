import { expect } from 'chai';
import { formatFieldErrors } from '../../../../../../apiserver/api/field.js';
import type { FieldError } from '../../../../../../apiserver/api/field.js';
import {
  defaultAccessRequest,
  validateAccessRequest,
} from '../../../../../../apiserver/apis/connectors/validation/accessrequest.js';
import type {
  AccessRequest,
  ObjectReference,
  Subject,
} from '../../../../../../apiserver/apis/connectors/v1alpha1/types.js';

const show = (errs: readonly FieldError[]): string[] =>
  errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** The request of domain spec §10.1, as stored (defaults applied). */
const sample = (): AccessRequest => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'AccessRequest',
  metadata: { name: 'r1', namespace: 'devops' },
  spec: {
    connectorRef: { name: 'prod-harbor' },
    context: {
      objectRef: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: 'cicd',
        name: 'promote-run-abc12-push-image-pod',
        uid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f',
      },
    },
    subject: { kind: 'ServiceAccount', name: 'builder', namespace: 'cicd', apiGroup: '' },
  },
});

/** What a client may send: any level may be missing, whatever the stored type promises. */
interface Loose {
  spec?: {
    connectorRef?: { name?: string };
    context?: { objectRef?: Partial<ObjectReference> };
    subject?: Partial<Subject>;
  };
}

function edit(f: (o: Loose) => void): AccessRequest {
  const o = sample();
  f(o as Loose);
  return o;
}

const user = (kind: 'User' | 'Group', over: Partial<Subject> = {}): AccessRequest =>
  edit((o) => {
    o.spec = {
      ...o.spec,
      subject: { kind, name: 'alice@example.com', apiGroup: 'rbac.authorization.k8s.io', ...over },
    };
  });

const p = 'spec.context.objectRef';

describe('validateAccessRequest', () => {
  const cases: { name: string; obj: AccessRequest; want: string[] }[] = [
    { name: 'accepts a ServiceAccount request', obj: sample(), want: [] },
    { name: 'accepts a User request', obj: user('User'), want: [] },
    {
      name: 'accepts a Group request',
      obj: user('Group', { name: 'system:serviceaccounts:cicd' }),
      want: [],
    },
    {
      name: 'AR-V1 requires spec',
      obj: edit((o) => {
        delete o.spec;
      }),
      want: ['FieldValueRequired spec: Required value'],
    },
    {
      name: 'AR-V2 requires connectorRef.name',
      obj: edit((o) => {
        o.spec = { ...o.spec, connectorRef: { name: '' } };
      }),
      want: ['FieldValueRequired spec.connectorRef.name: Required value'],
    },
    {
      name: 'AR-V2 requires connectorRef.name when connectorRef is absent',
      obj: edit((o) => {
        delete o.spec?.connectorRef;
      }),
      want: ['FieldValueRequired spec.connectorRef.name: Required value'],
    },
    {
      name: 'AR-V2 rejects a connector name that is no DNS-1123 subdomain',
      obj: edit((o) => {
        o.spec = { ...o.spec, connectorRef: { name: 'Prod_Harbor' } };
      }),
      want: [
        `FieldValueInvalid spec.connectorRef.name: Invalid value: "Prod_Harbor": ${subdomainMsg}`,
      ],
    },
    {
      name: 'AR-V3 requires objectRef',
      obj: edit((o) => {
        o.spec = { ...o.spec, context: {} };
      }),
      want: [`FieldValueRequired ${p}: Required value`],
    },
    {
      name: 'AR-V3 requires objectRef when context is absent',
      obj: edit((o) => {
        delete o.spec?.context;
      }),
      want: [`FieldValueRequired ${p}: Required value`],
    },
    {
      name: 'AR-V4 rejects kind Deployment',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.kind = 'Deployment';
      }),
      want: [
        `FieldValueNotSupported ${p}.kind: Unsupported value: "Deployment": supported values: "Pod"`,
      ],
    },
    {
      name: 'AR-V4 requires kind',
      obj: edit((o) => {
        delete o.spec?.context?.objectRef?.kind;
      }),
      want: [`FieldValueRequired ${p}.kind: Required value`],
    },
    {
      name: 'AR-V5 rejects apiVersion apps/v1',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.apiVersion = 'apps/v1';
      }),
      want: [
        `FieldValueNotSupported ${p}.apiVersion: Unsupported value: "apps/v1": supported values: "v1"`,
      ],
    },
    {
      name: 'AR-V5 judges an absent apiVersion as its default v1',
      obj: edit((o) => {
        delete o.spec?.context?.objectRef?.apiVersion;
      }),
      want: [],
    },
    {
      name: 'AR-V6 requires the Pod name',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.name = '';
      }),
      want: [`FieldValueRequired ${p}.name: Required value`],
    },
    {
      name: 'AR-V6 rejects a Pod name that is no DNS-1123 subdomain',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.name = 'Pod-1';
      }),
      want: [`FieldValueInvalid ${p}.name: Invalid value: "Pod-1": ${subdomainMsg}`],
    },
    {
      name: 'AR-V7 requires the Pod namespace',
      obj: edit((o) => {
        delete o.spec?.context?.objectRef?.namespace;
      }),
      want: [`FieldValueRequired ${p}.namespace: Required value`],
    },
    {
      name: 'AR-V7 rejects a Pod namespace with dots',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.namespace = 'ci.cd';
      }),
      want: [`FieldValueInvalid ${p}.namespace: Invalid value: "ci.cd": must not contain dots`],
    },
    {
      name: 'AR-V7 rejects a Pod namespace that is no DNS-1123 label',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.namespace = 'CICD';
      }),
      want: [`FieldValueInvalid ${p}.namespace: Invalid value: "CICD": ${labelMsg}`],
    },
    {
      name: 'AR-V8 requires subject',
      obj: edit((o) => {
        delete o.spec?.subject;
      }),
      want: ['FieldValueRequired spec.subject: Required value'],
    },
    {
      name: 'AR-V9 rejects kind Robot',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.kind = 'Robot';
      }),
      want: [
        'FieldValueNotSupported spec.subject.kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      ],
    },
    {
      name: 'AR-V9 requires kind',
      obj: edit((o) => {
        if (o.spec) o.spec.subject = { name: 'x' };
      }),
      want: ['FieldValueRequired spec.subject.kind: Required value'],
    },
    {
      name: 'AR-V10 requires the name of a ServiceAccount',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.name = '';
      }),
      want: ['FieldValueRequired spec.subject.name: Required value'],
    },
    {
      name: 'AR-V10 requires the name of a User',
      obj: user('User', { name: '' }),
      want: ['FieldValueRequired spec.subject.name: Required value'],
    },
    {
      name: 'AR-V10 requires the name even for an unknown kind',
      obj: edit((o) => {
        if (o.spec) o.spec.subject = { kind: 'Robot' };
      }),
      want: [
        'FieldValueNotSupported spec.subject.kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
        'FieldValueRequired spec.subject.name: Required value',
      ],
    },
    {
      name: 'AR-V10 rejects a ServiceAccount name that is no DNS-1123 subdomain',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.name = 'Builder';
      }),
      want: [`FieldValueInvalid spec.subject.name: Invalid value: "Builder": ${subdomainMsg}`],
    },
    {
      name: 'AR-V10 accepts any non-empty User name',
      obj: user('User', { name: 'Alice Smith' }),
      want: [],
    },
    {
      name: 'AR-V11 requires the ServiceAccount namespace',
      obj: edit((o) => {
        delete o.spec?.subject?.namespace;
      }),
      want: ['FieldValueRequired spec.subject.namespace: Required value'],
    },
    {
      name: 'AR-V11 rejects a ServiceAccount namespace that is no DNS-1123 label',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.namespace = 'ci_cd';
      }),
      want: [`FieldValueInvalid spec.subject.namespace: Invalid value: "ci_cd": ${labelMsg}`],
    },
    {
      name: 'AR-V12 rejects the RBAC apiGroup on a ServiceAccount',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.apiGroup = 'rbac.authorization.k8s.io';
      }),
      want: [
        'FieldValueNotSupported spec.subject.apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""',
      ],
    },
    {
      name: 'AR-V13 forbids a namespace on a User',
      obj: user('User', { namespace: 'cicd' }),
      want: [
        "FieldValueForbidden spec.subject.namespace: Forbidden: may not be specified when kind is 'User'",
      ],
    },
    {
      name: 'AR-V13 forbids a namespace on a Group',
      obj: user('Group', { namespace: 'cicd' }),
      want: [
        "FieldValueForbidden spec.subject.namespace: Forbidden: may not be specified when kind is 'Group'",
      ],
    },
    {
      name: 'AR-V14 rejects another apiGroup on a Group',
      obj: user('Group', { apiGroup: 'example.com' }),
      want: [
        'FieldValueNotSupported spec.subject.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"',
      ],
    },
    {
      name: 'AR-V14 judges an absent User apiGroup as its default',
      obj: user('User', { apiGroup: '' }),
      want: [],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(show(validateAccessRequest(tc.obj))).to.deep.equal(tc.want);
    });
  }

  it('reports all causes, rendered as in the spec example', () => {
    const obj = edit((o) => {
      o.spec = { ...o.spec, connectorRef: {} };
      if (o.spec.context?.objectRef) o.spec.context.objectRef.kind = 'Deployment';
    });
    expect(formatFieldErrors(validateAccessRequest(obj))).to.equal(
      '[spec.connectorRef.name: Required value, spec.context.objectRef.kind: Unsupported value: "Deployment": supported values: "Pod"]',
    );
  });
});

describe('defaultAccessRequest (AR-S3)', () => {
  const objectRef = (o: AccessRequest): ObjectReference => o.spec.context.objectRef;
  const cases: { name: string; obj: AccessRequest; check: (out: AccessRequest) => void }[] = [
    {
      name: 'AR-S3 sets objectRef.apiVersion v1 when absent',
      obj: edit((o) => {
        delete o.spec?.context?.objectRef?.apiVersion;
      }),
      check: (out) => expect(objectRef(out).apiVersion).to.equal('v1'),
    },
    {
      name: 'AR-S3 sets objectRef.apiVersion v1 when empty',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.apiVersion = '';
      }),
      check: (out) => expect(objectRef(out).apiVersion).to.equal('v1'),
    },
    {
      name: 'AR-S3 keeps a set objectRef.apiVersion for AR-V5 to judge',
      obj: edit((o) => {
        if (o.spec?.context?.objectRef) o.spec.context.objectRef.apiVersion = 'apps/v1';
      }),
      check: (out) => expect(objectRef(out).apiVersion).to.equal('apps/v1'),
    },
    {
      name: 'AR-S3 sets the RBAC apiGroup on a User without one',
      obj: edit((o) => {
        if (o.spec) o.spec.subject = { kind: 'User', name: 'alice' };
      }),
      check: (out) =>
        expect(out.spec.subject).to.deep.equal({
          kind: 'User',
          name: 'alice',
          apiGroup: 'rbac.authorization.k8s.io',
        }),
    },
    {
      name: 'AR-S3 sets the RBAC apiGroup on a Group with an empty one',
      obj: user('Group', { apiGroup: '' }),
      check: (out) => expect(out.spec.subject.apiGroup).to.equal('rbac.authorization.k8s.io'),
    },
    {
      name: 'AR-S3 sets an empty apiGroup on a ServiceAccount without one',
      obj: edit((o) => {
        delete o.spec?.subject?.apiGroup;
      }),
      check: (out) => expect(out.spec.subject.apiGroup).to.equal(''),
    },
    {
      name: 'AR-S3 keeps a set apiGroup for AR-V12 to judge',
      obj: edit((o) => {
        if (o.spec?.subject) o.spec.subject.apiGroup = 'example.com';
      }),
      check: (out) => expect(out.spec.subject.apiGroup).to.equal('example.com'),
    },
    {
      name: 'AR-S3 leaves the apiGroup of an unknown kind alone',
      obj: edit((o) => {
        if (o.spec) o.spec.subject = { kind: 'Robot', name: 'r' };
      }),
      check: (out) => expect(out.spec.subject).to.deep.equal({ kind: 'Robot', name: 'r' }),
    },
    {
      name: 'AR-S3 returns an object without spec as it is',
      obj: edit((o) => {
        delete o.spec;
      }),
      check: (out) => expect(out).to.not.have.property('spec'),
    },
    {
      name: 'AR-S3 tolerates a missing context and subject',
      obj: edit((o) => {
        o.spec = { connectorRef: { name: 'c' } };
      }),
      check: (out) => expect(out.spec).to.deep.equal({ connectorRef: { name: 'c' } }),
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      tc.check(defaultAccessRequest(tc.obj));
    });
  }

  it('AR-S3 does not change its input', () => {
    const input = edit((o) => {
      delete o.spec?.context?.objectRef?.apiVersion;
      if (o.spec) o.spec.subject = { kind: 'User', name: 'alice' };
    });
    const before = structuredClone(input);
    defaultAccessRequest(input);
    expect(input).to.deep.equal(before);
  });

  it('AR-S3 makes an undefaulted User request valid', () => {
    const input = edit((o) => {
      delete o.spec?.context?.objectRef?.apiVersion;
      if (o.spec) o.spec.subject = { kind: 'User', name: 'alice' };
    });
    expect(validateAccessRequest(defaultAccessRequest(input))).to.deep.equal([]);
  });
});
