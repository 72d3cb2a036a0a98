import { expect } from 'chai';
import type { Connector, ConnectorClass } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import { connectorResource, connectorStrategies } from '../../../../apiserver/registry/connector/resource.js';
import { connectorClassResource } from '../../../../apiserver/registry/connectorclass/resource.js';
import type { RequestContext } from '../../../../apiserver/registry/rest.js';
import { servedResources } from '../../../../apiserver/registry/resources.js';

const ctx: RequestContext = { namespace: 'devops', user: { name: 'admin', groups: [] }, now: () => new Date(0) };
const { strategy, statusStrategy } = connectorStrategies;

const stored: Connector = {
  apiVersion: 'connectors.alauda.io/v1alpha1',
  kind: 'Connector',
  metadata: { name: 'c', namespace: 'devops', uid: 'u1', resourceVersion: '7', generation: 2, labels: { a: 'b' }, finalizers: ['f'] },
  spec: { connectorClassName: 'harbor', address: 'https://harbor' },
  status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] },
};

describe('Connector and ConnectorClass strategies (writable status)', () => {
  it('drops status on create', () => {
    const created = strategy.prepareForCreate(ctx, structuredClone(stored));
    expect(created.status).to.equal(undefined);
    expect(created.spec).to.deep.equal(stored.spec);
  });

  it('keeps the stored status on the main resource, whatever the request says', () => {
    const changed = { ...structuredClone(stored), status: { observedGeneration: 9 }, spec: { address: 'https://other' } };
    const next = strategy.prepareForUpdate(ctx, changed, stored);
    expect(next.status).to.deep.equal(stored.status);
    expect(next.spec).to.deep.equal({ address: 'https://other' });
    const { status: _s, ...withoutStatus } = structuredClone(stored);
    expect(strategy.prepareForUpdate(ctx, structuredClone(stored), withoutStatus as Connector).status).to.equal(undefined);
  });

  it('takes only status (and managedFields) on /status: spec and metadata stay as stored', () => {
    const managedFields = [{ manager: 'ctl', operation: 'Update' as const, subresource: 'status' }];
    const req: Connector = {
      ...structuredClone(stored),
      metadata: { ...stored.metadata, labels: { x: 'y' }, finalizers: [], annotations: { n: 'o' }, managedFields },
      spec: { address: 'changed' },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Unreachable' }] },
    };
    const next = statusStrategy.prepareForUpdate(ctx, req, stored);
    expect(next.spec).to.deep.equal(stored.spec);
    expect(next.metadata).to.deep.equal({ ...stored.metadata, managedFields });
    expect(next.status).to.deep.equal(req.status);
  });

  it('removes the status on /status when the request has none', () => {
    const { status: _s, ...req } = structuredClone(stored);
    expect(statusStrategy.prepareForUpdate(ctx, req as Connector, stored).status).to.equal(undefined);
  });

  it('validates with the schema on every path', () => {
    const bad = { ...structuredClone(stored), status: { conditions: [{ type: 'Ready' }] } } as unknown as Connector;
    expect(statusStrategy.validateUpdate(ctx, bad, stored).map((e) => e.field)).to.deep.equal(['status.conditions[0].status']);
    expect(strategy.validate(ctx, bad).map((e) => e.field)).to.deep.equal(['status.conditions[0].status']);
  });

  it('declares the names, scopes, columns and writable status of both kinds', () => {
    expect(servedResources.map((r) => r.plural)).to.deep.equal(['accesspolicies', 'accessrequests', 'connectorclasses', 'connectors']);
    expect(connectorResource.namespaced).to.equal(true);
    expect(connectorClassResource.namespaced).to.equal(false);
    for (const r of [connectorResource, connectorClassResource]) {
      expect(r.status.mode).to.equal('writable');
      expect(r.categories).to.deep.equal(['alauda']);
      expect(r.shortNames).to.deep.equal([]);
    }
    expect(connectorResource.printerColumns.map((c) => c.name)).to.deep.equal(['Class', 'Address', 'Ready', 'Reason', 'Age']);
    expect(connectorClassResource.printerColumns.map((c) => c.name)).to.deep.equal(['Ready', 'Reason', 'Age']);
    const cc: ConnectorClass = { metadata: { name: 'x' }, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'NotFound' }] } };
    expect(connectorClassResource.printerColumns.map((c) => c.cell(cc))).to.deep.equal(['False', 'NotFound', null]);
  });
});
