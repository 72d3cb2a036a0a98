import { expect } from 'chai';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
} from '../../../../../apiserver/api/validation/names.js';

// The exact texts of k8s.io/apimachinery v0.36 (util/validation and api/validate/content).
const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const keyNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const keyThreePartsMsg =
  "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const valueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

interface Case {
  readonly name: string;
  readonly input: string;
  readonly want: readonly string[];
}

function runCases(fn: (s: string) => string[], cases: readonly Case[]): void {
  for (const tc of cases) {
    it(tc.name, () => {
      expect(fn(tc.input)).to.deep.equal(tc.want);
    });
  }
}

describe('isDNS1123Subdomain', () => {
  runCases(isDNS1123Subdomain, [
    { name: 'accepts a dotted name', input: 'example.com', want: [] },
    { name: 'accepts one character', input: 'a', want: [] },
    { name: 'accepts exactly 253 characters', input: 'a'.repeat(253), want: [] },
    { name: 'rejects upper case', input: 'Example.com', want: [subdomainMsg] },
    { name: 'rejects the empty string', input: '', want: [subdomainMsg] },
    { name: 'rejects a leading dash', input: '-a', want: [subdomainMsg] },
    { name: 'rejects an empty segment', input: 'a..b', want: [subdomainMsg] },
    { name: 'rejects an underscore', input: 'a_b', want: [subdomainMsg] },
    {
      name: 'rejects 254 characters',
      input: 'a'.repeat(254),
      want: ['must be no more than 253 characters'],
    },
    {
      name: 'reports length and format together',
      input: 'A'.repeat(254),
      want: ['must be no more than 253 characters', subdomainMsg],
    },
  ]);
});

describe('isDNS1123Label', () => {
  runCases(isDNS1123Label, [
    { name: 'accepts a dashed name', input: 'my-name', want: [] },
    { name: 'accepts digits first', input: '123-abc', want: [] },
    { name: 'accepts exactly 63 characters', input: 'a'.repeat(63), want: [] },
    {
      name: 'says "must not contain dots" for a valid subdomain',
      input: 'a.b',
      want: ['must not contain dots'],
    },
    { name: 'rejects upper case', input: 'A', want: [labelMsg] },
    { name: 'rejects the empty string', input: '', want: [labelMsg] },
    { name: 'rejects a trailing dash', input: 'a-', want: [labelMsg] },
    {
      name: 'rejects 64 characters',
      input: 'a'.repeat(64),
      want: ['must be no more than 63 characters'],
    },
  ]);
});

describe('isQualifiedName', () => {
  runCases(isQualifiedName, [
    { name: 'accepts a plain name', input: 'app', want: [] },
    { name: 'accepts mixed case, dots, dashes and underscores', input: 'My_app.v-1', want: [] },
    { name: 'accepts a DNS prefix', input: 'example.com/MyName', want: [] },
    { name: 'accepts a name part of 63 characters', input: `x/${'a'.repeat(63)}`, want: [] },
    { name: 'rejects more than one slash', input: 'a/b/c', want: [keyThreePartsMsg] },
    { name: 'rejects an empty prefix', input: '/a', want: ['prefix part must be non-empty'] },
    {
      name: 'rejects an invalid prefix',
      input: 'Example.com/a',
      want: [`prefix part ${subdomainMsg}`],
    },
    {
      name: 'counts the prefix length in bytes',
      input: `${'a'.repeat(254)}/a`,
      want: ['prefix part must be no more than 253 bytes'],
    },
    {
      name: 'reports an empty name twice, as Kubernetes does',
      input: 'a/',
      want: ['name part must be non-empty', keyNameMsg],
    },
    {
      name: 'rejects the empty string',
      input: '',
      want: ['name part must be non-empty', keyNameMsg],
    },
    { name: 'rejects a leading dash', input: '-a', want: [keyNameMsg] },
    { name: 'rejects a space', input: 'a b', want: [keyNameMsg] },
    {
      name: 'rejects a name part of 64 characters',
      input: 'a'.repeat(64),
      want: ['name part must be no more than 63 bytes'],
    },
  ]);
});

describe('isValidLabelValue', () => {
  runCases(isValidLabelValue, [
    { name: 'accepts the empty string', input: '', want: [] },
    { name: 'accepts an alphanumeric value', input: 'MyValue', want: [] },
    { name: 'accepts underscores and dots inside', input: 'my_value.1', want: [] },
    { name: 'accepts exactly 63 characters', input: 'a'.repeat(63), want: [] },
    { name: 'rejects a slash', input: 'a/b', want: [valueMsg] },
    { name: 'rejects a trailing dot', input: 'a.', want: [valueMsg] },
    {
      name: 'rejects 64 characters',
      input: 'a'.repeat(64),
      want: ['must be no more than 63 bytes'],
    },
    {
      name: 'counts UTF-8 bytes, as Go does',
      input: 'é'.repeat(32),
      want: ['must be no more than 63 bytes', valueMsg],
    },
  ]);
});
