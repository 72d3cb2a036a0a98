import { expect } from 'chai';
import type { FieldError } from '../../../../../../apiserver/api/field.js';
import { validateConnector, validateConnectorClass } from '../../../../../../apiserver/apis/connectors/validation/connector.js';
import type { Connector, ConnectorClass } from '../../../../../../apiserver/apis/connectors/v1alpha1/types.js';
import { connectorClassSchema, connectorSchema } from '../../../../../../openapi/connectors-v1alpha1.js';
import type { Schema } from '../../../../../../openapi/builders.js';
import { decodeStructural } from '../../../../../../openapi/structural.js';

const show = (errs: readonly FieldError[]): string[] => errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const connector = (rest: Record<string, unknown>): Connector => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'Connector',
  metadata: { name: 'prod-harbor', namespace: 'devops' },
  ...rest,
});

const connectorClass = (spec: unknown, status?: unknown): ConnectorClass => ({
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'ConnectorClass',
  metadata: { name: 'harbor' },
  ...(spec === undefined ? {} : { spec: spec as NonNullable<ConnectorClass['spec']> }),
  ...(status === undefined ? {} : { status: status as NonNullable<ConnectorClass['status']> }),
});

describe('Connector validation (the Connector CRD, no further rules)', () => {
  it('accepts a Connector without spec, and one with an empty spec (the CRD requires nothing)', () => {
    expect(validateConnector(connector({}))).to.deep.equal([]);
    expect(validateConnector(connector({ spec: {} }))).to.deep.equal([]);
  });

  it('accepts a full Connector, any auth.params and any address text', () => {
    const c = connector({
      spec: {
        connectorClassName: 'harbor',
        address: 'not even a URL',
        auth: { name: 'basicAuth', params: { anything: [1, { nested: true }] }, secretRef: { name: 's', namespace: 'devops' } },
      },
      status: {
        observedGeneration: 2,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', severity: '' }],
        proxy: { httpAddress: { url: 'http://proxy', name: 'p', CACerts: 'pem', audience: 'a' } },
        annotations: { a: 'b' },
      },
    });
    expect(validateConnector(c)).to.deep.equal([]);
  });

  it('reports every missing required condition field', () => {
    const c = connector({ spec: {}, status: { conditions: [{ type: 'Ready' }, { reason: 'x' }] } });
    expect(show(validateConnector(c))).to.deep.equal([
      'FieldValueRequired status.conditions[0].status: Required value',
      'FieldValueRequired status.conditions[1].status: Required value',
      'FieldValueRequired status.conditions[1].type: Required value',
    ]);
  });

  it('keeps auth.params as sent while pruning unknown fields elsewhere', () => {
    const body = { metadata: { name: 'c' }, spec: { auth: { params: { x: { y: 1 } }, bogus: 1 }, extra: true } };
    const d = decodeStructural(body, connectorSchema);
    expect(d.value).to.deep.equal({ metadata: { name: 'c' }, spec: { auth: { params: { x: { y: 1 } } } } });
    expect(d.unknownFields).to.deep.equal(['spec.auth.bogus', 'spec.extra']);
  });

  it('checks types against the CRD: a number for spec.address is FieldValueTypeInvalid', () => {
    const d = decodeStructural({ spec: { address: 5 } }, connectorSchema);
    expect(show(d.typeErrors)).to.deep.equal(['FieldValueTypeInvalid spec.address: Invalid value: "integer": must be of type string']);
  });

  it('treats fields named like Object.prototype members as unknown', () => {
    const d = decodeStructural({ spec: { toString: 'x', hasOwnProperty: 1 } }, connectorSchema);
    expect(d.value).to.deep.equal({ spec: {} });
    expect(d.unknownFields).to.deep.equal(['spec.toString', 'spec.hasOwnProperty']);
  });
});

describe('ConnectorClass validation (the ConnectorClass CRD, no further rules)', () => {
  const harbor = {
    address: { name: 'address', type: 'string' },
    auth: { types: [{ name: 'basicAuth', secretType: 'kubernetes.io/basic-auth', displayName: 'Basic', description: 'user and password', optional: false }] },
    authProbes: [{ authName: 'basicAuth', probe: { http: { path: '/api/v2.0/users/current', method: 'GET', scheme: 'https', httpHeaders: [{ name: 'A', value: 'b' }] } } }],
    livenessProbe: { http: { path: '/api/v2.0/ping' } },
    api: { ref: { kind: 'Service', name: 'harbor-api', namespace: 'connectors-system' }, uri: '/api' },
    proxy: { ref: { kind: 'Service', name: 'harbor-proxy' } },
    configurations: [{ name: 'c', data: { k: 'v' }, annotations: { a: 'b' } }, { name: 'c' }],
  };

  it('accepts a full ConnectorClass and an empty one', () => {
    expect(validateConnectorClass(connectorClass(harbor))).to.deep.equal([]);
    expect(validateConnectorClass(connectorClass(undefined))).to.deep.equal([]);
  });

  it('reports required fields, enums and duplicate list-map keys, all at once', () => {
    const spec = {
      address: { type: 'string', default: { type: 'string', stringVal: 'x' } },
      auth: { types: [{ name: 'basicAuth' }, { name: 'basicAuth' }, { secretType: 'x' }] },
      authProbes: [{ probe: { http: { method: 'PUT', scheme: 'ftp' } } }],
      livenessProbe: { http: { httpHeaders: [{ name: 'A' }] } },
      api: { ref: { name: 'svc' } },
    };
    expect(show(validateConnectorClass(connectorClass(spec)))).to.deep.equal([
      'FieldValueRequired spec.address.name: Required value',
      'FieldValueRequired spec.address.default.arrayVal: Required value',
      'FieldValueRequired spec.address.default.objectVal: Required value',
      'FieldValueRequired spec.auth.types[2].name: Required value',
      'FieldValueDuplicate spec.auth.types[1]: Duplicate value: map[string]interface {}{"name":"basicAuth"}',
      'FieldValueRequired spec.authProbes[0].authName: Required value',
      'FieldValueRequired spec.authProbes[0].probe.http.path: Required value',
      'FieldValueNotSupported spec.authProbes[0].probe.http.method: Unsupported value: "PUT": supported values: "GET", "POST"',
      'FieldValueNotSupported spec.authProbes[0].probe.http.scheme: Unsupported value: "ftp": supported values: "http", "https"',
      'FieldValueRequired spec.livenessProbe.http.path: Required value',
      'FieldValueRequired spec.livenessProbe.http.httpHeaders[0].value: Required value',
      'FieldValueRequired spec.api.ref.kind: Required value',
    ]);
  });

  it('validates the status too (written through /status)', () => {
    const errs = validateConnectorClass(connectorClass({}, { conditions: [{ status: 'True' }], api: { address: { url: 'u' } } }));
    expect(show(errs)).to.deep.equal(['FieldValueRequired status.conditions[0].type: Required value']);
  });

  it('declares the CRD list types: auth.types keyed by name, authProbes by authName, configurations untyped', () => {
    const spec = connectorClassSchema.properties?.['spec']?.properties ?? {};
    const types = spec['auth']?.properties?.['types'] as Schema;
    expect(types['x-kubernetes-list-type']).to.equal('map');
    expect(types['x-kubernetes-list-map-keys']).to.deep.equal(['name']);
    expect(spec['authProbes']?.['x-kubernetes-list-map-keys']).to.deep.equal(['authName']);
    expect(spec['configurations']?.['x-kubernetes-list-type']).to.equal(undefined);
    expect(Object.keys(spec).sort()).to.deep.equal(['address', 'api', 'auth', 'authProbes', 'configurations', 'livenessProbe', 'proxy']);
  });

  it('describes every field of both schemas', () => {
    const undocumented: string[] = [];
    const walk = (s: Schema, path: string): void => {
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        if (sub.description === undefined || sub.description === '') undocumented.push(`${path}.${k}`);
        walk(sub, `${path}.${k}`);
      }
      if (s.items !== undefined) walk(s.items, `${path}[]`);
      if (s.additionalProperties !== undefined) walk(s.additionalProperties, `${path}{}`);
    };
    walk(connectorSchema, 'Connector');
    walk(connectorClassSchema, 'ConnectorClass');
    expect(undocumented).to.deep.equal([]);
  });
});
