/** Writing JSON bodies, Status errors and Warning headers the way kube-apiserver does. */
import type { Response } from 'express';
import type { Status } from '../api/status.js';

export function writeJSON(res: Response, code: number, body: unknown, warnings: readonly string[] = []): void {
  for (const w of warnings) res.append('Warning', `299 - ${JSON.stringify(w)}`);
  res.status(code);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(JSON.stringify(body));
}

export function writeStatus(res: Response, s: Status): void {
  if (s.details?.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(s.details.retryAfterSeconds));
  writeJSON(res, s.code, s);
}
