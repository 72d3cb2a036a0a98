import { expect } from 'chai';
import { decodeApplyBody, decodePatchBody, patchTypeOf } from '../../../../apiserver/endpoints/body.js';
import { managerFromUserAgent, parseWriteOptions, validateFieldManager } from '../../../../apiserver/endpoints/options.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('write options', () => {
  describe('fieldManager', () => {
    it('derives the default manager from the User-Agent up to its first slash', () => {
      expect(managerFromUserAgent('kubectl/v1.36.4 (linux/amd64) kubernetes/abc')).to.equal('kubectl');
      expect(managerFromUserAgent('kube-controller-manager/v1.36.4 (linux/amd64)')).to.equal('kube-controller-manager');
      expect(managerFromUserAgent('no-slash at all')).to.equal('no-slash at all');
      expect(managerFromUserAgent(undefined)).to.equal('');
    });

    it('drops unprintable characters and cuts at 128 bytes without splitting a character', () => {
      expect(managerFromUserAgent('a\u0007b\tc/1')).to.equal('abc');
      expect(managerFromUserAgent('x'.repeat(200))).to.have.length(128);
      const cut = managerFromUserAgent(`${'x'.repeat(127)}é`);
      expect(cut).to.equal('x'.repeat(127));
    });

    it('validates an explicit manager as ValidateFieldManager does', () => {
      expect(validateFieldManager('kubectl')).to.deep.equal([]);
      expect(validateFieldManager('with space and ü')).to.deep.equal([]);
      expect(validateFieldManager('é'.repeat(65))).to.deep.equal([
        { type: 'FieldValueTooLong', field: 'fieldManager', message: 'Too long: may not be more than 128 bytes' },
      ]);
      expect(validateFieldManager('éa\u0001')).to.deep.equal([
        { type: 'FieldValueInvalid', field: 'fieldManager', message: 'Invalid value: "éa\\u0001": invalid character U+0001 (at position 3)' },
      ]);
    });

    it('defaults to the User-Agent manager only when the query names none', () => {
      const explicit = parseWriteOptions('UpdateOptions', q('fieldManager=mine'), 'kubectl/1');
      expect(explicit.ok && explicit.value.fieldManager).to.equal('mine');
      const derived = parseWriteOptions('UpdateOptions', q(''), 'kubectl/1');
      expect(derived.ok && derived.value.fieldManager).to.equal('kubectl');
      const none = parseWriteOptions('CreateOptions', q(''), undefined);
      expect(none.ok && none.value).to.deep.equal({ dryRun: false, fieldValidation: 'Warn' });
    });
  });

  describe('PatchOptions', () => {
    it('requires an explicit fieldManager for apply, even with a User-Agent', () => {
      const r = parseWriteOptions('PatchOptions', q(''), 'kubectl/1', 'apply');
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.equal('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    });

    it('parses force for apply only', () => {
      const forced = parseWriteOptions('PatchOptions', q('fieldManager=m&force=true'), undefined, 'apply');
      expect(forced.ok && forced.value).to.deep.equal({ dryRun: false, fieldValidation: 'Warn', fieldManager: 'm', force: true });
      const bad = parseWriteOptions('PatchOptions', q('fieldManager=m&force=maybe'), undefined, 'apply');
      expect(!bad.ok && bad.error.code).to.equal(400);
      for (const type of ['merge', 'json'] as const) {
        const r = parseWriteOptions('PatchOptions', q('force=false'), undefined, type);
        expect(!r.ok && r.error.message).to.equal('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
      }
    });

    it('reports every broken rule in one 422, fieldManager first', () => {
      const r = parseWriteOptions('PatchOptions', q('dryRun=Some&fieldValidation=Loose'), undefined, 'apply');
      expect(!r.ok && r.error.details?.causes?.map((c) => c.field)).to.deep.equal(['fieldManager', 'dryRun', 'fieldValidation']);
    });
  });

  describe('patch bodies', () => {
    it('knows the three patch types and refuses the rest with 415', () => {
      expect(patchTypeOf('application/apply-patch+yaml; charset=utf-8')).to.deep.equal({ ok: true, value: 'apply' });
      expect(patchTypeOf('application/merge-patch+json')).to.deep.equal({ ok: true, value: 'merge' });
      expect(patchTypeOf('application/json-patch+json')).to.deep.equal({ ok: true, value: 'json' });
      const strategic = patchTypeOf('application/strategic-merge-patch+json');
      expect(!strategic.ok && strategic.error.message).to.include('--type=merge');
      const cbor = patchTypeOf('application/apply-patch+cbor');
      expect(!cbor.ok && cbor.error.message).to.equal(
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    });

    it('decodes an apply configuration from YAML or JSON, keeping repeated keys for fieldValidation', () => {
      expect(decodeApplyBody(Buffer.from('{"kind": "AccessPolicy"}'))).to.deep.equal({ ok: true, value: { type: 'apply', config: { kind: 'AccessPolicy' }, duplicateKeys: [] } });
      const repeated = decodeApplyBody(Buffer.from('a: 1\na: 2\n'));
      expect(repeated.ok && repeated.value.config).to.deep.equal({ a: 2 });
      expect(repeated.ok && repeated.value.duplicateKeys).to.deep.equal(['Map keys must be unique at line 2, column 1']);
      const broken = decodePatchBody('apply', Buffer.from('a: ['));
      expect(!broken.ok && broken.error.message).to.match(/^error decoding YAML: /);
    });
  });
});
