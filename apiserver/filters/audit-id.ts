/**
 * WithAuditID: every request gets an ID for logs and audit records, echoed in the `Audit-Id` response
 * header. Behind the aggregator the ID comes from kube-apiserver, so one ID follows a request through
 * both servers' logs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const auditIDHeader = 'Audit-Id';

// An ID is copied into logs and a response header: refuse anything but a short, printable token.
const acceptableID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's Audit-ID when it is a plausible one, else a new UUID. */
export function auditIDOf(incoming: string | string[] | undefined, newID: () => string = randomUUID): string {
  const v = Array.isArray(incoming) ? incoming[0] : incoming;
  return v !== undefined && acceptableID.test(v) ? v : newID();
}

export function withAuditID(req: IncomingMessage, res: ServerResponse): string {
  const id = auditIDOf(req.headers['audit-id']);
  res.setHeader(auditIDHeader, id);
  return id;
}
