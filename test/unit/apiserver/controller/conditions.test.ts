import { expect } from 'chai';
import type { Condition } from '../../../../apiserver/apis/connectors/v1alpha1/types.js';
import { maxMessageLength, nextCondition, setCondition } from '../../../../apiserver/controller/conditions.js';

const t0 = '2026-03-30T10:00:06Z';
const t1 = '2026-03-30T10:12:41Z';

describe('setCondition', () => {
  const prev: Condition[] = [
    { type: 'Ready', status: 'True', reason: 'Synced', lastTransitionTime: t0 },
    { type: 'AccessCheckReady', status: 'Unknown', reason: 'Pending', message: 'm', lastTransitionTime: t0 },
  ];

  it('keeps lastTransitionTime when only the reason changes', () => {
    const got = setCondition(prev, { type: 'Ready', status: 'True', reason: 'NoPermissionRequired' }, t1);
    expect(got.find((c) => c.type === 'Ready')).to.deep.equal({ type: 'Ready', status: 'True', reason: 'NoPermissionRequired', lastTransitionTime: t0 });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const got = setCondition(prev, { type: 'AccessCheckReady', status: 'True', reason: 'Passed' }, t1);
    expect(got.find((c) => c.type === 'AccessCheckReady')?.lastTransitionTime).to.equal(t1);
  });

  it('keeps the list sorted by type', () => {
    const got = setCondition(prev, { type: 'ConnectorResolved', status: 'True', reason: 'Resolved' }, t1);
    expect(got.map((c) => c.type)).to.deep.equal(['AccessCheckReady', 'ConnectorResolved', 'Ready']);
  });

  it('drops the message of a True condition and cuts long messages', () => {
    expect(nextCondition(undefined, { type: 'X', status: 'True', reason: 'R', message: 'gone' }, t0)).to.deep.equal({
      type: 'X',
      status: 'True',
      reason: 'R',
      lastTransitionTime: t0,
    });
    const long = nextCondition(undefined, { type: 'X', status: 'False', reason: 'R', message: 'y'.repeat(2000) }, t0);
    expect(long.message).to.have.length(maxMessageLength);
  });

  it('writes metav1.Condition fields on request', () => {
    expect(
      nextCondition(undefined, { type: 'PermissionSynced', status: 'True', reason: 'Synced', message: 'x' }, t0, {
        alwaysMessage: true,
        observedGeneration: 3,
      }),
    ).to.deep.equal({ type: 'PermissionSynced', status: 'True', reason: 'Synced', message: '', lastTransitionTime: t0, observedGeneration: 3 });
    expect(nextCondition(undefined, { type: 'Ready', status: 'True', reason: 'Synced', message: 'kept' }, t0, { messageOnTrue: true }).message).to.equal('kept');
  });
});
