import { expect } from 'chai';
import { auditIDOf } from '../../../../apiserver/filters/audit-id.js';

describe('auditIDOf', () => {
  const fresh = (): string => 'fresh-uuid';
  const cases: { name: string; incoming: string | string[] | undefined; want: string }[] = [
    { name: 'keeps the aggregator\'s ID', incoming: '5d0c2c11-8f7d-4c5e-9a53-1a2b3c4d5e6f', want: '5d0c2c11-8f7d-4c5e-9a53-1a2b3c4d5e6f' },
    { name: 'takes the first of repeated headers', incoming: ['a-1', 'b-2'], want: 'a-1' },
    { name: 'makes one when none came', incoming: undefined, want: 'fresh-uuid' },
    { name: 'replaces an empty ID', incoming: '', want: 'fresh-uuid' },
    { name: 'replaces an ID with spaces or quotes', incoming: 'x" y', want: 'fresh-uuid' },
    { name: 'replaces an overlong ID', incoming: 'a'.repeat(129), want: 'fresh-uuid' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(auditIDOf(tc.incoming, fresh)).to.equal(tc.want);
    });
  }

  it('makes random UUIDs by default', () => {
    expect(auditIDOf(undefined)).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
