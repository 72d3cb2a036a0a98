import { expect } from 'chai';
import { accessRequestName, boundName, labelValue, sha8 } from '../../../../apiserver/controller/names.js';

describe('controller names (§6.1 vectors)', () => {
  it('derives the request name of §10.1', () => {
    expect(
      accessRequestName({
        subjectKind: 'ServiceAccount',
        subjectNamespace: 'cicd',
        subjectName: 'builder',
        connector: 'prod-harbor',
        podNamespace: 'cicd',
        podName: 'promote-run-abc12-push-image-pod',
        podUid: '2f0d4c7e-8b1a-4f5e-9c3d-6a7b8c9d0e1f',
      }),
    ).to.equal('prod-harbor-promote-run-abc12-push-image-pod-6342dabe');
  });

  it('cuts a long request name to 253 characters', () => {
    const name = accessRequestName({
      subjectKind: 'User',
      subjectNamespace: '',
      subjectName: 'alice',
      connector: 'c'.repeat(200),
      podNamespace: 'ns',
      podName: 'p'.repeat(200),
      podUid: '',
    });
    expect(name).to.have.length(253);
    expect(name).to.match(/^c{200}-p{43}-[0-9a-f]{8}$/);
  });

  it('hashes a label value over 63 characters', () => {
    expect(labelValue('release-candidate-pipeline-run-20260330-build-and-push-image-to-registry-pod')).to.equal(
      'release-candidate-pipeline-run-20260330-build-and-push-ee4c137a',
    );
    expect(labelValue('short')).to.equal('short');
  });

  it('strips a trailing dash before the hash of a bound name', () => {
    expect(boundName(`${'a'.repeat(243)}-${'b'.repeat(20)}`)).to.equal(`${'a'.repeat(243)}-61f0391a`);
    expect(boundName('x'.repeat(253))).to.equal('x'.repeat(253));
  });

  it('hashes with SHA-256', () => {
    expect(sha8('')).to.equal('e3b0c442');
  });
});
