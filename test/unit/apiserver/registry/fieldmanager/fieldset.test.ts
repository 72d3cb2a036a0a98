import { expect } from 'chai';
import type { Schema } from '../../../../../openapi/builders.js';
import { accessPolicySchema, accessRequestSchema } from '../../../../../openapi/connectors-v1alpha1.js';
import {
  difference,
  fromFieldsV1,
  fromObject,
  intersection,
  isEmpty,
  leaves,
  leavesEqual,
  pathToString,
  paths,
  recursiveDifference,
  toFieldsV1,
  union,
  type FieldSet,
} from '../../../../../apiserver/registry/fieldmanager/fieldset.js';

const parse = (v: unknown): FieldSet => {
  const r = fromFieldsV1(v);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

// Compared as text so that key order (the SMD serialization order) is checked too.
const text = (s: FieldSet): string => JSON.stringify(toFieldsV1(s));

describe('fieldset FieldsV1', () => {
  const roundTrips: { name: string; json: string }[] = [
    {
      name: 'keeps labels and a list-map item with its own marker',
      json: '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:checks":{"k:{\\"name\\":\\"a\\"}":{".":{},"f:name":{}}}}}',
    },
    { name: 'keeps set values', json: '{"f:metadata":{"f:finalizers":{".":{},"v:\\"a\\"":{},"v:\\"b\\"":{}}}}' },
    { name: 'keeps an index element', json: '{"f:x":{"i:0":{},"i:2":{}}}' },
    { name: 'keeps non-string set values', json: '{"f:x":{"v:1":{},"v:\\"1\\"":{},"v:true":{},"v:null":{}}}' },
    {
      name: 'keeps a multi-field key',
      json: '{"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{},"f:protocol":{}}}}',
    },
    { name: 'keeps the empty set', json: '{}' },
  ];
  for (const tc of roundTrips) {
    it(`round trip: ${tc.name}`, () => {
      expect(text(parse(JSON.parse(tc.json)))).to.equal(tc.json);
    });
  }

  const canonical: { name: string; input: unknown; want: string }[] = [
    {
      name: 'sorts fields before keys before values before indexes',
      input: { 'i:0': {}, 'v:"z"': {}, 'k:{"name":"a"}': {}, 'f:b': {}, 'f:a': {} },
      want: '{"f:a":{},"f:b":{},"k:{\\"name\\":\\"a\\"}":{},"v:\\"z\\"":{},"i:0":{}}',
    },
    {
      name: 'sorts the fields of a key and merges equal keys',
      input: { 'k:{"b":1,"a":"x"}': { 'f:a': {} }, 'k:{"a":"x","b":1}': { '.': {}, 'f:b': {} } },
      want: '{"k:{\\"a\\":\\"x\\",\\"b\\":1}":{".":{},"f:a":{},"f:b":{}}}',
    },
    { name: 'orders set numbers before strings', input: { 'v:"a"': {}, 'v:2': {}, 'v:10': {} }, want: '{"v:2":{},"v:10":{},"v:\\"a\\"":{}}' },
    { name: 'drops elements of an unknown kind', input: { 'x:future': {}, 'f:a': {} }, want: '{"f:a":{}}' },
    { name: 'treats a lone marker as a member', input: { 'f:a': { '.': {} } }, want: '{"f:a":{}}' },
  ];
  for (const tc of canonical) {
    it(`decodes: ${tc.name}`, () => {
      expect(text(parse(tc.input))).to.equal(tc.want);
    });
  }

  const invalid: { name: string; input: unknown }[] = [
    { name: 'a non-object document', input: [] },
    { name: 'a non-object value', input: { 'f:a': 1 } },
    { name: 'a one-character key', input: { a: {} } },
    { name: 'a key without colon', input: { ab: {} } },
    { name: 'bad key JSON', input: { 'k:{"name"': {} } },
    { name: 'a key that is not an object', input: { 'k:"a"': {} } },
    { name: 'a bad index', input: { 'i:x': {} } },
  ];
  for (const tc of invalid) {
    it(`rejects ${tc.name}`, () => {
      expect(fromFieldsV1(tc.input).ok).to.equal(false);
    });
  }
});

describe('fieldset fromObject', () => {
  const cases: { name: string; schema: Schema; obj: unknown; want: unknown }[] = [
    {
      name: 'records labels and annotations per key and finalizers per value',
      schema: accessPolicySchema,
      obj: { metadata: { labels: { app: 'a', tier: 'b' }, annotations: { note: 'x' }, finalizers: ['f1', 'f2'] } },
      want: {
        'f:metadata': {
          'f:annotations': { 'f:note': {} },
          'f:finalizers': { 'v:"f1"': {}, 'v:"f2"': {} },
          'f:labels': { 'f:app': {}, 'f:tier': {} },
        },
      },
    },
    {
      name: 'records an atomic map and an atomic list as leaves',
      schema: accessPolicySchema,
      obj: {
        spec: {
          connector: { names: ['c1', 'c2'] },
          defaultPermission: { bindingTemplate: { serviceAccounts: [{ names: ['sa'] }] } },
        },
      },
      want: {
        'f:spec': {
          'f:connector': {},
          'f:defaultPermission': { 'f:bindingTemplate': { 'f:serviceAccounts': {} } },
        },
      },
    },
    {
      name: 'records list-map items by key with their marker',
      schema: accessPolicySchema,
      obj: {
        spec: {
          checkGrantedPermission: {
            spec: {
              checks: [
                { name: 'b', ref: { configMap: { name: 'cm' } } },
                { name: 'a', params: [{ name: 'p', value: { x: { y: 1 } } }] },
              ],
            },
          },
        },
      },
      want: {
        'f:spec': {
          'f:checkGrantedPermission': {
            'f:spec': {
              'f:checks': {
                'k:{"name":"a"}': {
                  '.': {},
                  'f:name': {},
                  'f:params': {
                    'k:{"name":"p"}': { '.': {}, 'f:name': {}, 'f:value': { 'f:x': { '.': {}, 'f:y': {} } } },
                  },
                },
                'k:{"name":"b"}': { '.': {}, 'f:name': {}, 'f:ref': { 'f:configMap': { 'f:name': {} } } },
              },
            },
          },
        },
      },
    },
    {
      name: 'records status.policies by name with atomic matchedChecks',
      schema: accessRequestSchema,
      obj: {
        status: {
          observedGeneration: 2,
          policies: [{ name: 'p1', matchedChecks: [{ name: 'c' }], permissionSync: { type: 'PermissionSynced', status: 'True' } }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      },
      want: {
        'f:status': {
          'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } },
          'f:observedGeneration': {},
          'f:policies': {
            'k:{"name":"p1"}': {
              '.': {},
              'f:matchedChecks': {},
              'f:name': {},
              'f:permissionSync': { 'f:status': {}, 'f:type': {} },
            },
          },
        },
      },
    },
    {
      name: 'records nothing for an empty struct or an empty granular list',
      schema: accessPolicySchema,
      obj: { spec: {}, metadata: { finalizers: [] } },
      want: {},
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(text(fromObject(tc.obj, tc.schema))).to.equal(JSON.stringify(tc.want));
    });
  }
});

describe('fieldset operations', () => {
  const a = parse({ 'f:spec': { 'f:x': {}, 'f:y': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } });
  const b = parse({ 'f:spec': { 'f:y': {}, 'f:z': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } });
  const cases: { name: string; got: () => FieldSet; want: unknown }[] = [
    {
      name: 'union',
      got: () => union(a, b),
      want: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:x': {}, 'f:y': {}, 'f:z': {} } },
    },
    { name: 'intersection', got: () => intersection(a, b), want: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:y': {} } } },
    { name: 'difference keeps what lies below a removed member', got: () => difference(a, b), want: { 'f:metadata': { 'f:labels': {} }, 'f:spec': { 'f:x': {} } } },
    {
      name: 'recursive difference removes what lies below',
      got: () => recursiveDifference(a, parse({ 'f:metadata': {} })),
      want: { 'f:spec': { 'f:x': {}, 'f:y': {} } },
    },
    { name: 'leaves drop item markers', got: () => leaves(a), want: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:x': {}, 'f:y': {} } } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(text(tc.got())).to.equal(JSON.stringify(tc.want));
    });
  }

  it('compares leaves only', () => {
    expect(leavesEqual(a, parse({ 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:y': {}, 'f:x': {} } }))).to.equal(true);
    expect(leavesEqual(a, b)).to.equal(false);
  });

  it('knows the empty set', () => {
    expect(isEmpty(difference(a, a))).to.equal(true);
    expect(isEmpty(a)).to.equal(false);
  });

  it('lists paths as conflicts name them: members first at each level', () => {
    const s = parse({
      'f:spec': {
        'f:b': { 'f:c': {} },
        'f:a': {},
        'f:checks': { 'k:{"name":"a"}': { '.': {}, 'f:spec': {} } },
      },
      'f:metadata': { 'f:finalizers': { 'v:"x"': {} } },
    });
    expect(paths(s).map(pathToString)).to.deep.equal([
      '.metadata.finalizers[="x"]',
      '.spec.a',
      '.spec.b.c',
      '.spec.checks[name="a"]',
      '.spec.checks[name="a"].spec',
    ]);
  });
});
