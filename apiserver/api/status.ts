/**
 * metav1.Status and the constructors of k8s.io/apimachinery/pkg/api/errors, with the same messages,
 * so kubectl prints our errors exactly as it prints kube-apiserver's.
 */
import { formatFieldErrors, type FieldError } from './field.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message: string;
  readonly reason: StatusReason | '';
  readonly details?: StatusDetails;
  readonly code: number;
}

/** Identifies a resource in error messages: `accessrequests.connectors.alauda.io`. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

export const qualifiedResource = (gr: GroupResource): string =>
  gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;

export function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
}

export const isStatus = (v: unknown): v is Status =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';

export const badRequest = (message: string): Status => failure(400, 'BadRequest', message);

export const notFound = (gr: GroupResource, name: string): Status =>
  failure(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });

export const alreadyExists = (gr: GroupResource, name: string, retryAfterSeconds?: number): Status =>
  failure(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, {
    name,
    group: gr.group,
    kind: gr.resource,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });

export const conflict = (gr: GroupResource, name: string, why: string): Status =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });

export const staleResourceVersion = (gr: GroupResource, name: string): Status =>
  conflict(gr, name, 'the object has been modified; please apply your changes to the latest version and try again');

/** 422 with every cause; `kind` is the Kind (`AccessRequest`), as in errors.NewInvalid. */
export function invalid(group: string, kind: string, name: string, errs: readonly FieldError[]): Status {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${formatFieldErrors(errs)}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

export const methodNotAllowed = (message: string): Status => failure(405, 'MethodNotAllowed', message);

export const notAcceptable = (message: string): Status => failure(406, 'NotAcceptable', message);

export const unsupportedMediaType = (message: string): Status => failure(415, 'UnsupportedMediaType', message);

export const requestEntityTooLarge = (message: string): Status =>
  failure(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);

/** 410 for a compacted resourceVersion or continue token (reason Expired, as kube-apiserver). */
export const expired = (message: string): Status => failure(410, 'Expired', message);

export const internalError = (message: string): Status =>
  failure(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ reason: '', message }],
  });

export const serviceUnavailable = (message: string): Status => failure(503, 'ServiceUnavailable', message);

export const timeout = (message: string, retryAfterSeconds?: number): Status =>
  failure(504, 'Timeout', message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });

export const tooLargeResourceVersion = (requested: string, current: string): Status =>
  failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });

export const forbidden = (gr: GroupResource, name: string, why: string): Status =>
  failure(403, 'Forbidden', `${qualifiedResource(gr)}${name === '' ? '' : ` "${name}"`} is forbidden: ${why}`, {
    ...(name === '' ? {} : { name }),
    group: gr.group,
    kind: gr.resource,
  });
