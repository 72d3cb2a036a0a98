/**
 * Structured logs, one JSON object per line on stderr, in the spirit of klog's JSON format
 * (`ts` epoch ms, `v` for info lines, `msg`, `err`), with levels chosen by `-v`:
 *   0   errors, warnings, startup and shutdown
 *   2   one line per request (verb, URI, user, Audit-ID, latency, code, user agent)
 *   4+  debug detail
 */

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly verbosity: number;
  /** Whether info lines at verbosity v are written; check before building costly fields. */
  enabled(v: number): boolean;
  info(msg: string, fields?: LogFields, v?: number): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, err: unknown, fields?: LogFields): void;
  /** A `{ msg, err?, … }` bag as the older call sites write it: with `err` it is an error, else info at v0. */
  log(entry: LogFields): void;
}

export interface LoggerOptions {
  readonly verbosity: number;
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

const errorText = (err: unknown): string => (err instanceof Error ? (err.stack ?? err.message) : String(err));

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const now = opts.now ?? Date.now;
  const emit = (head: LogFields, fields: LogFields | undefined): void => {
    // `ts`, `level`, `v` and `msg` first and never overwritten by a field of the same name.
    write(`${JSON.stringify({ ...head, ...fields, ...head })}\n`);
  };
  const logger: Logger = {
    verbosity: opts.verbosity,
    enabled: (v) => v <= opts.verbosity,
    info: (msg, fields, v = 0) => {
      if (v > opts.verbosity) return;
      emit({ ts: now(), level: v >= 4 ? 'debug' : 'info', v, msg }, fields);
    },
    warn: (msg, fields) => emit({ ts: now(), level: 'warn', msg }, fields),
    error: (msg, err, fields) => emit({ ts: now(), level: 'error', msg, err: errorText(err) }, fields),
    log: (entry) => {
      const { msg, err, ...fields } = entry;
      const text = typeof msg === 'string' ? msg : String(msg);
      if (err === undefined) logger.info(text, fields);
      else logger.error(text, err, fields);
    },
  };
  return logger;
}

/** Go's time.Duration.String() for a latency in milliseconds (`512µs`, `12.3ms`, `1m3.5s`), as klog prints it. */
export function formatLatency(ms: number): string {
  const trim = (n: number, digits: number): string => n.toFixed(digits).replace(/\.?0+$/, '');
  if (ms <= 0) return '0s';
  if (ms < 1) return `${trim(ms * 1000, 3)}µs`;
  if (ms < 1000) return `${trim(ms, 6)}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h > 0 ? `${String(h)}h` : ''}${h > 0 || m > 0 ? `${String(m)}m` : ''}${trim(s, 9)}s`;
}
