import { expect } from 'chai';
import type { FieldError } from '../../../../../apiserver/api/field.js';
import type { ObjectMeta, OwnerReference } from '../../../../../apiserver/api/meta.js';
import { isDNS1123Subdomain } from '../../../../../apiserver/api/validation/names.js';
import {
  validateObjectMeta,
  validateObjectMetaUpdate,
} from '../../../../../apiserver/api/validation/objectmeta.js';

/** `type field: message`, so one string shows all three things a cause is judged by. */
const show = (errs: readonly FieldError[]): string[] =>
  errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const keyNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const valueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const base = (): ObjectMeta => ({ name: 'r1', namespace: 'devops' });
const namespaced = { namespaced: true, nameValidator: isDNS1123Subdomain };
const clusterScoped = { namespaced: false, nameValidator: isDNS1123Subdomain };
const owner = (over: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'AccessPolicy',
  name: 'p',
  uid: 'u1',
  ...over,
});

describe('validateObjectMeta', () => {
  const cases: { name: string; meta: ObjectMeta | undefined; cluster?: boolean; want: string[] }[] =
    [
      { name: 'accepts a complete namespaced object', meta: base(), want: [] },
      {
        name: 'accepts labels, annotations, owners and finalizers',
        meta: {
          ...base(),
          labels: { 'connectors.cpaas.io/connector': 'prod-harbor', empty: '' },
          annotations: { 'Example.com/Mixed-Case': 'any text at all' },
          ownerReferences: [owner({ controller: true }), owner({ uid: 'u2', controller: false })],
          finalizers: ['example.com/cleanup'],
        },
        want: [],
      },
      {
        name: 'requires name or generateName',
        meta: { namespace: 'devops' },
        want: [
          'FieldValueRequired metadata.name: Required value: name or generateName is required',
        ],
      },
      {
        name: 'treats absent metadata as empty',
        meta: undefined,
        want: [
          'FieldValueRequired metadata.name: Required value: name or generateName is required',
          'FieldValueRequired metadata.namespace: Required value',
        ],
      },
      {
        name: 'accepts a generateName alone, before a name is generated',
        meta: { generateName: 'r-', namespace: 'devops' },
        want: [],
      },
      {
        name: 'tolerates the trailing dash of generateName',
        meta: { ...base(), generateName: 'prod-harbor-' },
        want: [],
      },
      {
        name: 'rejects an invalid generateName',
        meta: { ...base(), generateName: 'Prod-' },
        want: [`FieldValueInvalid metadata.generateName: Invalid value: "Prod-": ${subdomainMsg}`],
      },
      {
        name: 'validates the name with the kind validator',
        meta: { ...base(), name: 'R_1' },
        want: [`FieldValueInvalid metadata.name: Invalid value: "R_1": ${subdomainMsg}`],
      },
      {
        name: 'requires a namespace for namespaced kinds',
        meta: { name: 'r1' },
        want: ['FieldValueRequired metadata.namespace: Required value'],
      },
      {
        name: 'requires the namespace to be a DNS-1123 label',
        meta: { ...base(), namespace: 'dev.ops' },
        want: [
          'FieldValueInvalid metadata.namespace: Invalid value: "dev.ops": must not contain dots',
        ],
      },
      {
        name: 'forbids a namespace on cluster-scoped kinds',
        meta: base(),
        cluster: true,
        want: ['FieldValueForbidden metadata.namespace: Forbidden: not allowed on this type'],
      },
      {
        name: 'accepts a cluster-scoped object without namespace',
        meta: { name: 'c1' },
        cluster: true,
        want: [],
      },
      {
        name: 'rejects a negative generation',
        meta: { ...base(), generation: -1 },
        want: [
          'FieldValueInvalid metadata.generation: Invalid value: -1: must be greater than or equal to 0',
        ],
      },
      {
        name: 'rejects an invalid label key at metadata.labels',
        meta: { ...base(), labels: { 'a b': 'x' } },
        want: [`FieldValueInvalid metadata.labels: Invalid value: "a b": ${keyNameMsg}`],
      },
      {
        name: 'rejects an invalid label value at metadata.labels',
        meta: { ...base(), labels: { app: 'a/b' } },
        want: [`FieldValueInvalid metadata.labels: Invalid value: "a/b": ${valueMsg}`],
      },
      {
        name: 'reports label causes in key order',
        meta: { ...base(), labels: { z: '-', a: '-' } },
        want: [
          `FieldValueInvalid metadata.labels: Invalid value: "-": ${valueMsg}`,
          `FieldValueInvalid metadata.labels: Invalid value: "-": ${valueMsg}`,
        ],
      },
      {
        name: 'rejects an invalid annotation key, reporting the key as sent',
        meta: { ...base(), annotations: { 'Bad Key': 'v' } },
        want: [`FieldValueInvalid metadata.annotations: Invalid value: "Bad Key": ${keyNameMsg}`],
      },
      {
        name: 'rejects annotations over 256 KiB in total',
        meta: { ...base(), annotations: { a: 'x'.repeat(128 * 1024), b: 'x'.repeat(128 * 1024) } },
        want: [
          'FieldValueTooLong metadata.annotations: Too long: may not be more than 262144 bytes',
        ],
      },
      {
        name: 'accepts annotations of exactly 256 KiB',
        meta: { ...base(), annotations: { a: 'x'.repeat(256 * 1024 - 1) } },
        want: [],
      },
      {
        name: 'rejects an incomplete owner reference (paths without index, as Kubernetes)',
        meta: { ...base(), ownerReferences: [{ apiVersion: '', kind: '', name: '', uid: '' }] },
        want: [
          'FieldValueInvalid metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
          'FieldValueInvalid metadata.ownerReferences.kind: Invalid value: "": must not be empty',
          'FieldValueInvalid metadata.ownerReferences.name: Invalid value: "": must not be empty',
          'FieldValueInvalid metadata.ownerReferences.uid: Invalid value: "": must not be empty',
        ],
      },
      {
        name: 'rejects an owner apiVersion with two slashes',
        meta: { ...base(), ownerReferences: [owner({ apiVersion: 'a/b/c' })] },
        want: [
          'FieldValueInvalid metadata.ownerReferences.apiVersion: Invalid value: "a/b/c": version must not be empty',
        ],
      },
      {
        name: 'rejects an Event as owner',
        meta: { ...base(), ownerReferences: [owner({ apiVersion: 'v1', kind: 'Event' })] },
        want: [
          'FieldValueInvalid metadata.ownerReferences: Invalid value: "object": /v1, Kind=Event is disallowed from being an owner',
        ],
      },
      {
        name: 'rejects two controller references',
        meta: {
          ...base(),
          ownerReferences: [
            owner({ name: 'a', controller: true }),
            owner({ kind: 'AccessRequest', name: 'b', controller: true }),
          ],
        },
        want: [
          'FieldValueInvalid metadata.ownerReferences: Invalid value: "array": Only one reference can have Controller set to true. Found "true" in references for AccessPolicy/a and AccessRequest/b',
        ],
      },
      {
        name: 'rejects an invalid finalizer name',
        meta: { ...base(), finalizers: ['a b'] },
        want: [`FieldValueInvalid metadata.finalizers: Invalid value: "a b": ${keyNameMsg}`],
      },
      {
        name: 'rejects a duplicate finalizer',
        meta: { ...base(), finalizers: ['example.com/x', 'example.com/y', 'example.com/x'] },
        want: ['FieldValueDuplicate metadata.finalizers[2]: Duplicate value: "example.com/x"'],
      },
      {
        name: 'rejects orphan together with foregroundDeletion',
        meta: { ...base(), finalizers: ['orphan', 'foregroundDeletion'] },
        want: [
          'FieldValueInvalid metadata.finalizers: Invalid value: "array": finalizer orphan and foregroundDeletion cannot be both set',
        ],
      },
    ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(
        show(validateObjectMeta(tc.meta, tc.cluster === true ? clusterScoped : namespaced)),
      ).to.deep.equal(tc.want);
    });
  }

  it('passes the masked generateName with prefix=true to a two-parameter validator', () => {
    const seen: [string, boolean][] = [];
    const nameValidator = (name: string, prefix: boolean): string[] => {
      seen.push([name, prefix]);
      return [];
    };
    validateObjectMeta({ ...base(), generateName: 'abc-' }, { namespaced: true, nameValidator });
    expect(seen).to.deep.equal([
      ['aba', true],
      ['r1', false],
    ]);
  });
});

describe('validateObjectMetaUpdate', () => {
  const old = (): ObjectMeta => ({
    ...base(),
    uid: 'u1',
    creationTimestamp: '2026-03-30T10:00:00Z',
    finalizers: ['example.com/a'],
  });
  const deleting = (): ObjectMeta => ({ ...old(), deletionTimestamp: '2026-03-30T11:00:00Z' });
  const cases: { name: string; next: ObjectMeta; prev: ObjectMeta; want: string[] }[] = [
    { name: 'accepts unchanged metadata', next: old(), prev: old(), want: [] },
    {
      name: 'accepts label and finalizer changes',
      next: { ...old(), labels: { a: 'b' }, finalizers: ['example.com/b'] },
      prev: old(),
      want: [],
    },
    {
      name: 'rejects a new name',
      next: { ...old(), name: 'r2' },
      prev: old(),
      want: ['FieldValueInvalid metadata.name: Invalid value: "r2": field is immutable'],
    },
    {
      name: 'rejects a new namespace',
      next: { ...old(), namespace: 'other' },
      prev: old(),
      want: ['FieldValueInvalid metadata.namespace: Invalid value: "other": field is immutable'],
    },
    {
      name: 'rejects a new uid',
      next: { ...old(), uid: 'u2' },
      prev: old(),
      want: ['FieldValueInvalid metadata.uid: Invalid value: "u2": field is immutable'],
    },
    {
      name: 'rejects a new creationTimestamp',
      next: { ...old(), creationTimestamp: '2026-03-31T10:00:00Z' },
      prev: old(),
      want: [
        'FieldValueInvalid metadata.creationTimestamp: Invalid value: "2026-03-31T10:00:00Z": field is immutable',
      ],
    },
    {
      name: 'rejects dropping the uid',
      next: { name: 'r1', namespace: 'devops', creationTimestamp: '2026-03-30T10:00:00Z' },
      prev: old(),
      want: ['FieldValueInvalid metadata.uid: Invalid value: "": field is immutable'],
    },
    {
      name: 'rejects new finalizers while the object is being deleted',
      next: { ...deleting(), finalizers: ['example.com/a', 'z.io/z', 'example.com/b'] },
      prev: deleting(),
      want: [
        'FieldValueForbidden metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b", "z.io/z"}',
      ],
    },
    {
      name: 'accepts removing finalizers while the object is being deleted',
      next: { ...deleting(), finalizers: [] },
      prev: deleting(),
      want: [],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(show(validateObjectMetaUpdate(tc.next, tc.prev))).to.deep.equal(tc.want);
    });
  }
});
