/**
 * Field errors in the shape of k8s.io/apimachinery/pkg/util/validation/field: a typed cause with the
 * full dotted path, rendered exactly as kube-apiserver renders them so a 422 body is mechanical.
 */

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound';

export interface FieldError {
  readonly type: FieldErrorType;
  /** Dotted path with indices and map keys: `spec.checks[0].name`, `metadata.labels[a/b]`. */
  readonly field: string;
  /** Text after the type's fixed prefix, e.g. `Invalid value: "x": must be …` is prefix + detail. */
  readonly message: string;
}

/** An immutable path builder, like field.NewPath("spec").Child("x").Index(0). */
export interface FieldPath {
  readonly child: (name: string, ...more: string[]) => FieldPath;
  readonly index: (i: number) => FieldPath;
  readonly key: (k: string) => FieldPath;
  readonly toString: () => string;
}

export function fieldPath(root: string, ...more: string[]): FieldPath {
  const make = (s: string): FieldPath => ({
    child: (name, ...rest) => make([s, name, ...rest].filter((p) => p !== '').join('.')),
    index: (i) => make(`${s}[${String(i)}]`),
    key: (k) => make(`${s}[${k}]`),
    toString: () => s,
  });
  return make([root, ...more].filter((p) => p !== '').join('.'));
}

type PathLike = FieldPath | string;
const str = (p: PathLike): string => (typeof p === 'string' ? p : p.toString());

/** Go's %#v-ish rendering used by field.Invalid: strings quoted, others JSON. */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'object') return JSON.stringify(Array.isArray(v) ? 'array' : 'object');
  return String(v);
}

export const required = (p: PathLike, detail = ''): FieldError => ({
  type: 'FieldValueRequired',
  field: str(p),
  message: detail === '' ? 'Required value' : `Required value: ${detail}`,
});

export const invalid = (p: PathLike, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field: str(p),
  message: `Invalid value: ${renderValue(value)}${detail === '' ? '' : `: ${detail}`}`,
});

export const notSupported = (p: PathLike, value: unknown, supported: readonly string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field: str(p),
  message:
    `Unsupported value: ${renderValue(value)}` +
    (supported.length > 0 ? `: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : ''),
});

export const forbidden = (p: PathLike, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field: str(p),
  message: detail === '' ? 'Forbidden' : `Forbidden: ${detail}`,
});

export const duplicate = (p: PathLike, value: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field: str(p),
  message: `Duplicate value: ${renderValue(value)}`,
});

export const tooLong = (p: PathLike, maxLength: number): FieldError => ({
  type: 'FieldValueTooLong',
  field: str(p),
  message: `Too long: may not be more than ${String(maxLength)} bytes`,
});

export const tooMany = (p: PathLike, actual: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field: str(p),
  message: `Too many: ${String(actual)}: must have at most ${String(max)} items`,
});

export const typeInvalid = (p: PathLike, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field: str(p),
  message: `Invalid value: ${renderValue(value)}: ${detail}`,
});

export const notFound = (p: PathLike, value: unknown): FieldError => ({
  type: 'FieldValueNotFound',
  field: str(p),
  message: `Not found: ${renderValue(value)}`,
});

/** `spec.x: Required value` — how kube-apiserver prints one cause inside a 422 message. */
export const formatFieldError = (e: FieldError): string => (e.field === '' ? e.message : `${e.field}: ${e.message}`);

/** The aggregate rendering: no brackets for one error, `[a, b]` for several. */
export function formatFieldErrors(errs: readonly FieldError[]): string {
  const parts = errs.map(formatFieldError);
  return parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
}
