import { expect } from 'chai';
import { humanDuration } from '../../../../apiserver/endpoints/human-duration.js';

describe('humanDuration', () => {
  const s = 1000;
  const cases: { ms: number; want: string }[] = [
    { ms: -5 * s, want: '<invalid>' },
    { ms: -1 * s, want: '0s' },
    { ms: 45 * s, want: '45s' },
    { ms: 119 * s, want: '119s' },
    { ms: 5 * 60 * s + 30 * s, want: '5m30s' },
    { ms: 5 * 60 * s, want: '5m' },
    { ms: 150 * 60 * s, want: '150m' },
    { ms: (3 * 60 + 10) * 60 * s, want: '3h10m' },
    { ms: 10 * 3600 * s, want: '10h' },
    { ms: 48 * 3600 * s, want: '2d' },
    { ms: 50 * 3600 * s, want: '2d2h' },
    { ms: 30 * 24 * 3600 * s, want: '30d' },
    { ms: 3 * 365 * 24 * 3600 * s, want: '3y' },
    { ms: (3 * 365 + 5) * 24 * 3600 * s, want: '3y5d' },
    { ms: 9 * 365 * 24 * 3600 * s, want: '9y' },
  ];
  for (const tc of cases) it(`renders ${String(tc.ms / 1000)}s as ${tc.want}`, () => expect(humanDuration(tc.ms)).to.equal(tc.want));
});
