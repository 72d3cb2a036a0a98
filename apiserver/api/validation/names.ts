/**
 * Name and label validators with the messages of k8s.io/apimachinery v0.36 (the kube-apiserver
 * release this server sits beside): `pkg/util/validation` for DNS names and
 * `pkg/api/validate/content` for label keys and values. Each returns the list of problems (empty =
 * valid); callers turn every message into one `Invalid` cause, as Kubernetes does.
 *
 * Lengths are UTF-8 byte counts because Go's `len` counts bytes; for the ASCII-only formats this only
 * matters for over-long non-ASCII input, which must still report both the length and the format error.
 */
import { Buffer } from 'node:buffer';
import { invalid, required } from '../field.js';
import type { FieldError, FieldPath } from '../field.js';

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const labelKeyFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFmt = `(${labelKeyFmt})?`;

const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const labelKeyRe = new RegExp(`^${labelKeyFmt}$`);
const labelValueRe = new RegExp(`^${labelValueFmt}$`);

const dns1123LabelErrMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const labelKeyErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export const DNS1123LabelMaxLength = 63;
export const DNS1123SubdomainMaxLength = 253;
export const LabelValueMaxLength = 63;
const labelKeyNameMaxLength = 63;

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
const emptyError = 'must be non-empty';

/**
 * v0.36 has two copies of MaxLenError: util/validation says "characters" (DNS names), the newer
 * content package says "bytes" (label keys, label values and the DNS prefix of a label key).
 */
type LengthUnit = 'characters' | 'bytes';
const maxLenError = (n: number, unit: LengthUnit): string =>
  `must be no more than ${String(n)} ${unit}`;

/** RegexError: `msg (e.g. 'a' or 'b', regex used for validation is 're')`. */
function regexError(msg: string, re: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${re}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${re}')`;
}

function dns1123Subdomain(value: string, unit: LengthUnit): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123SubdomainMaxLength)
    errs.push(maxLenError(DNS1123SubdomainMaxLength, unit));
  if (!dns1123SubdomainRe.test(value))
    errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

/** IsDNS1123Subdomain: object names such as Connectors, Pods, ConfigMaps (≤ 253). */
export const isDNS1123Subdomain = (value: string): string[] =>
  dns1123Subdomain(value, 'characters');

/** IsDNS1123Label: namespaces and other single-segment names (≤ 63, no dots). */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123LabelMaxLength)
    errs.push(maxLenError(DNS1123LabelMaxLength, 'characters'));
  if (!dns1123LabelRe.test(value)) {
    // A valid subdomain that is not a valid label can only differ by its dots (length was checked).
    errs.push(
      dns1123SubdomainRe.test(value)
        ? 'must not contain dots'
        : regexError(dns1123LabelErrMsg, dns1123LabelFmt, 'my-name', '123-abc'),
    );
  }
  return errs;
}

/** IsQualifiedName (content.IsLabelKey): label and annotation keys, finalizers: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix === '') errs.push(`prefix part ${emptyError}`);
    else errs.push(...dns1123Subdomain(prefix, 'bytes').map((m) => `prefix part ${m}`));
  } else {
    return [
      `a valid label key ${regexError(labelKeyErrMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  // Go reports an empty name twice (non-empty and regex): the regex check is not in the else branch.
  if (name === '') errs.push(`name part ${emptyError}`);
  else if (byteLength(name) > labelKeyNameMaxLength)
    errs.push(`name part ${maxLenError(labelKeyNameMaxLength, 'bytes')}`);
  if (!labelKeyRe.test(name))
    errs.push(
      `name part ${regexError(labelKeyErrMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')}`,
    );
  return errs;
}

/** IsValidLabelValue (content.IsLabelValue): may be empty, ≤ 63. */
export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > LabelValueMaxLength) errs.push(maxLenError(LabelValueMaxLength, 'bytes'));
  if (!labelValueRe.test(value))
    errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

/**
 * A name field that must be set: empty (or absent) → one `Required`, otherwise one `Invalid` per
 * message of `validate`, which is how Kubernetes reports every name it checks.
 */
export function validateRequiredName(
  value: string | undefined,
  path: FieldPath,
  validate: (name: string) => string[],
): FieldError[] {
  const v = value ?? '';
  if (v === '') return [required(path)];
  return validate(v).map((msg) => invalid(path, v, msg));
}

/** Same for an optional name: absent or empty is fine. */
export function validateOptionalName(
  value: string | undefined,
  path: FieldPath,
  validate: (name: string) => string[],
): FieldError[] {
  const v = value ?? '';
  return v === '' ? [] : validate(v).map((msg) => invalid(path, v, msg));
}
