import { expect } from 'chai';
import { fieldPath } from '../../../../../apiserver/api/field.js';
import type { FieldError } from '../../../../../apiserver/api/field.js';
import {
  hasLabelTerms,
  validateLabelSelector,
  type LabelSelectorLike,
} from '../../../../../apiserver/api/validation/labelselector.js';

const show = (errs: readonly FieldError[]): string[] =>
  errs.map((e) => `${e.type} ${e.field}: ${e.message}`);

const keyNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const valueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const p = 'spec.connector';

describe('validateLabelSelector', () => {
  const cases: { name: string; sel: LabelSelectorLike | undefined; want: string[] }[] = [
    { name: 'accepts an absent selector', sel: undefined, want: [] },
    { name: 'accepts an empty selector', sel: {}, want: [] },
    {
      name: 'accepts every operator used correctly',
      sel: {
        matchLabels: { 'example.com/tier': 'prod', empty: '' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['c'] },
          { key: 'team', operator: 'Exists' },
          { key: 'team', operator: 'DoesNotExist', values: [] },
        ],
      },
      want: [],
    },
    {
      name: 'AP-V3 rejects a matchLabels key that is no qualified name',
      sel: { matchLabels: { 'a/b/c': 'x', 'bad key': 'x' } },
      want: [
        `FieldValueInvalid ${p}.matchLabels: Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
        `FieldValueInvalid ${p}.matchLabels: Invalid value: "bad key": ${keyNameMsg}`,
      ],
    },
    {
      name: 'AP-V3 rejects a matchLabels value that is no label value',
      sel: { matchLabels: { app: 'a b' } },
      want: [`FieldValueInvalid ${p}.matchLabels: Invalid value: "a b": ${valueMsg}`],
    },
    {
      name: 'AP-V4 rejects an unknown operator as NotSupported',
      sel: { matchExpressions: [{ key: 'env', operator: 'Equals', values: ['a'] }] },
      want: [
        `FieldValueNotSupported ${p}.matchExpressions[0].operator: Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
      ],
    },
    {
      name: 'AP-V4 rejects an empty operator as NotSupported',
      sel: { matchExpressions: [{ key: 'env', operator: '' }] },
      want: [
        `FieldValueNotSupported ${p}.matchExpressions[0].operator: Unsupported value: "": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
      ],
    },
    {
      name: 'AP-V4 requires values for In',
      sel: { matchExpressions: [{ key: 'env', operator: 'In' }] },
      want: [
        `FieldValueRequired ${p}.matchExpressions[0].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
      ],
    },
    {
      name: 'AP-V4 requires values for NotIn (an empty list counts as none)',
      sel: {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x'] },
          { key: 'env', operator: 'NotIn', values: [] },
        ],
      },
      want: [
        `FieldValueRequired ${p}.matchExpressions[1].values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`,
      ],
    },
    {
      name: 'AP-V4 forbids values for Exists',
      sel: { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['a'] }] },
      want: [
        `FieldValueForbidden ${p}.matchExpressions[0].values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`,
      ],
    },
    {
      name: 'AP-V4 forbids values for DoesNotExist',
      sel: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist', values: ['a'] }] },
      want: [
        `FieldValueForbidden ${p}.matchExpressions[0].values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`,
      ],
    },
    {
      name: 'AP-V4 requires the key to be a qualified name',
      sel: { matchExpressions: [{ key: '', operator: 'Exists' }] },
      want: [
        `FieldValueInvalid ${p}.matchExpressions[0].key: Invalid value: "": name part must be non-empty`,
        `FieldValueInvalid ${p}.matchExpressions[0].key: Invalid value: "": ${keyNameMsg}`,
      ],
    },
    {
      name: 'AP-V4 rejects a value that is no label value, as Kubernetes does',
      sel: { matchExpressions: [{ key: 'env', operator: 'In', values: ['ok', 'not ok'] }] },
      want: [
        `FieldValueInvalid ${p}.matchExpressions[0].values[1]: Invalid value: "not ok": ${valueMsg}`,
      ],
    },
    {
      name: 'reports every cause of one requirement in Kubernetes order',
      sel: { matchExpressions: [{ key: '-', operator: 'Has', values: ['-'] }] },
      want: [
        `FieldValueNotSupported ${p}.matchExpressions[0].operator: Unsupported value: "Has": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
        `FieldValueInvalid ${p}.matchExpressions[0].key: Invalid value: "-": ${keyNameMsg}`,
        `FieldValueInvalid ${p}.matchExpressions[0].values[0]: Invalid value: "-": ${valueMsg}`,
      ],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(show(validateLabelSelector(tc.sel, fieldPath('spec', 'connector')))).to.deep.equal(
        tc.want,
      );
    });
  }
});

describe('hasLabelTerms', () => {
  const cases: { name: string; sel: LabelSelectorLike | undefined; want: boolean }[] = [
    { name: 'is false for an absent selector', sel: undefined, want: false },
    {
      name: 'is false for empty maps and lists',
      sel: { matchLabels: {}, matchExpressions: [] },
      want: false,
    },
    { name: 'is true with a label', sel: { matchLabels: { a: 'b' } }, want: true },
    {
      name: 'is true with an expression',
      sel: { matchExpressions: [{ key: 'a', operator: 'Exists' }] },
      want: true,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(hasLabelTerms(tc.sel)).to.equal(tc.want);
    });
  }
});
