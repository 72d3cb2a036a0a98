/**
 * Go's `time.ParseDuration`, the syntax of `metav1.Duration` (`maxDuration`, §11.2): an optional
 * sign, then one or more decimal numbers each with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`,
 * `h`), e.g. `90s`, `1h30m`, `1.5h`. `0` alone is allowed. Returns milliseconds, or undefined.
 */
const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const term = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;

export function parseGoDuration(src: string): number | undefined {
  let s = src;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s !== '') {
    const m = term.exec(s);
    const num = m?.[1];
    const unit = m?.[2];
    if (m === null || num === undefined || unit === undefined || num === '' || num === '.') return undefined;
    total += Number(num) * (unitMs[unit] ?? 0);
    s = s.slice(m[0].length);
  }
  return sign * total;
}
