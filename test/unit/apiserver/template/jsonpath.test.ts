import { expect } from 'chai';
import { parseTemplate, renderTemplate } from '../../../../apiserver/template/jsonpath.js';

/** The Pod of domain spec §6.4 and §10. */
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    namespace: 'cicd',
    name: 'promote-run-abc12-push-image-pod',
    labels: { 'tekton.dev/pipelineRun': 'promote-run-abc12' },
  },
  spec: { containers: [{ name: 'step-push' }, { name: 'step-tag' }] },
};
const data = { object: pod };

/** Renders `src` against `d`, failing the test on a parse error. */
function render(src: string, d: unknown = data): string {
  const t = parseTemplate(src);
  if (!t.ok) throw new Error(`unexpected parse error: ${t.error}`);
  return renderTemplate(t.value, d);
}

describe('template (§6.4 table)', () => {
  const rendered: { name: string; src: string; want: string }[] = [
    {
      name: 'reads a dotted label key in double quotes',
      src: '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}',
      want: 'promote-run-abc12',
    },
    {
      name: 'reads a dotted label key in single quotes',
      src: "{.object.metadata.labels['tekton\\.dev/pipelineRun']}",
      want: 'promote-run-abc12',
    },
    {
      name: 'reads a dotted label key after an escaped dot in a .name step',
      src: '{.object.metadata.labels.tekton\\.dev/pipelineRun}',
      want: 'promote-run-abc12',
    },
    {
      name: 'copies literal text around several expressions',
      src: 'connectors/proxy/v1/pod/{.object.metadata.namespace}/{.object.metadata.name}',
      want: 'connectors/proxy/v1/pod/cicd/promote-run-abc12-push-image-pod',
    },
    { name: 'renders a missing key as ""', src: '{.object.metadata.labels.missing}', want: '' },
    {
      name: 'joins several results with one space',
      src: '{.object.spec.containers[*].name}',
      want: 'step-push step-tag',
    },
    {
      name: 'renders an object as compact JSON',
      src: '{.object.metadata.labels}',
      want: '{"tekton.dev/pipelineRun":"promote-run-abc12"}',
    },
  ];
  for (const tc of rendered) {
    it(tc.name, () => {
      expect(render(tc.src)).to.equal(tc.want);
    });
  }

  const rejected: { name: string; src: string; error: string }[] = [
    {
      name: 'rejects an unclosed bracket and expression',
      src: '{.object.metadata.labels[',
      error: 'unclosed "{" at offset 0',
    },
    {
      name: 'rejects range/end',
      src: '{range .object.spec.containers[*]}{.name}{end}',
      error: 'unexpected "r" at offset 1: a step starts with "." or "["',
    },
  ];
  for (const tc of rejected) {
    it(tc.name, () => {
      expect(parseTemplate(tc.src)).to.deep.equal({ ok: false, error: tc.error });
    });
  }
});

describe('parseTemplate', () => {
  const ok: { name: string; src: string }[] = [
    { name: 'accepts plain text', src: 'connectors/proxy' },
    { name: 'accepts the empty template', src: '' },
    { name: 'accepts a leading $', src: '{$.object.metadata.name}' },
    { name: 'accepts $ alone', src: '{$}' },
    { name: 'accepts a bracket step first', src: "{['object']}" },
    { name: 'accepts a negative index', src: '{.object.spec.containers[-1].name}' },
    { name: 'accepts a closing brace inside a quoted key', src: "{.object['a}b']}" },
  ];
  for (const tc of ok) {
    it(tc.name, () => {
      expect(parseTemplate(tc.src).ok).to.equal(true);
    });
  }

  const errors: { name: string; src: string; error: string }[] = [
    {
      name: 'rejects an unclosed {',
      src: 'a/{.object.metadata.name',
      error: 'unclosed "{" at offset 2',
    },
    { name: 'rejects an unclosed { at the end', src: 'a/{', error: 'unclosed "{" at offset 2' },
    { name: 'rejects an empty {}', src: 'x{}', error: 'empty expression "{}" at offset 1' },
    {
      name: 'rejects } outside an expression',
      src: 'a}b',
      error: 'unexpected "}" at offset 1 outside an expression',
    },
    {
      name: 'rejects a { inside an expression',
      src: '{.a{.b}',
      error: 'unexpected "{" at offset 3 inside an expression',
    },
    {
      name: 'rejects recursive descent',
      src: '{..name}',
      error: 'recursive descent ".." at offset 1 is not supported',
    },
    {
      name: 'rejects recursive descent after a step',
      src: '{.object..name}',
      error: 'recursive descent ".." at offset 8 is not supported',
    },
    {
      name: 'rejects a filter',
      src: '{.object.status.conditions[?(@.type=="Ready")].status}',
      error: 'filters ("[?(@.type=="Ready")]" at offset 26) are not supported',
    },
    {
      name: 'rejects a slice',
      src: '{.object.spec.containers[0:1]}',
      error: 'slices ("[0:1]" at offset 24) are not supported',
    },
    {
      name: 'rejects an index union',
      src: '{.object.spec.containers[0,1]}',
      error: 'unions ("[0,1]" at offset 24) are not supported',
    },
    {
      name: 'rejects a key union',
      src: "{.object.metadata['name','namespace']}",
      error: 'expected "]" after quoted key at offset 24 (unions are not supported)',
    },
    {
      name: 'rejects quoted text',
      src: '{"literal"}',
      error: 'unexpected "\\"" at offset 1: a step starts with "." or "["',
    },
    {
      name: 'rejects end',
      src: '{end}',
      error: 'unexpected "e" at offset 1: a step starts with "." or "["',
    },
    {
      name: 'rejects @',
      src: '{@.name}',
      error: 'unexpected "@" at offset 1: a step starts with "." or "["',
    },
    {
      name: 'rejects a leading space',
      src: '{ .name}',
      error: 'unexpected " " at offset 1: a step starts with "." or "["',
    },
    { name: 'rejects an empty field name', src: '{.}', error: 'empty field name at offset 1' },
    {
      name: 'rejects an empty field name before a bracket',
      src: '{.object.[0]}',
      error: 'empty field name at offset 8',
    },
    {
      name: 'rejects the .* wildcard',
      src: '{.object.metadata.labels.*}',
      error: 'wildcard ".*" at offset 24 is not supported; use "[*]"',
    },
    {
      name: 'rejects a non-numeric index',
      src: '{.object[abc]}',
      error: 'invalid array index "abc" at offset 8',
    },
    {
      name: 'rejects an empty bracket',
      src: '{.object[]}',
      error: 'invalid array index "" at offset 8',
    },
    {
      name: 'rejects an unknown escape in a quoted key',
      src: "{.object['a\\nb']}",
      error: 'unknown escape "\\\\n" at offset 11',
    },
    {
      name: 'rejects an unterminated quoted key',
      src: "{.object['name}",
      error: 'unclosed "{" at offset 0',
    },
    { name: 'rejects a trailing backslash', src: '{.object\\', error: 'unclosed "{" at offset 0' },
  ];
  for (const tc of errors) {
    it(tc.name, () => {
      expect(parseTemplate(tc.src)).to.deep.equal({ ok: false, error: tc.error });
    });
  }
});

describe('renderTemplate', () => {
  const doc = {
    s: 'text',
    n: 42,
    f: 1.5,
    t: true,
    z: null,
    arr: [1, 'two', null, { b: 2, a: 1 }],
    obj: { b: 'B', a: 'A', c: { y: [1], x: false } },
    'a.b': 'dotted',
    'q\'"\\': 'quoted',
    nested: [[1, 2], [3]],
  };
  const cases: { name: string; src: string; want: string }[] = [
    { name: 'renders a string as it is', src: '{.s}', want: 'text' },
    { name: 'renders an integer in JSON form', src: '{.n}', want: '42' },
    { name: 'renders a fraction in JSON form', src: '{.f}', want: '1.5' },
    { name: 'renders a boolean in JSON form', src: '{.t}', want: 'true' },
    { name: 'renders null as ""', src: '{.z}', want: '' },
    {
      name: 'renders an array as compact JSON with sorted object keys',
      src: '{.arr}',
      want: '[1,"two",null,{"a":1,"b":2}]',
    },
    {
      name: 'renders an object with sorted keys at every level',
      src: '{.obj}',
      want: '{"a":"A","b":"B","c":{"x":false,"y":[1]}}',
    },
    { name: 'renders the whole document for $', src: '{$.nested}', want: '[[1,2],[3]]' },
    {
      name: 'iterates array elements, rendering each',
      src: '{.arr[*]}',
      want: '1 two  {"a":1,"b":2}',
    },
    {
      name: 'iterates object values in key order',
      src: '{.obj[*]}',
      want: 'A B {"x":false,"y":[1]}',
    },
    { name: 'chains wildcards', src: '{.nested[*][*]}', want: '1 2 3' },
    { name: 'indexes from the start', src: '{.arr[1]}', want: 'two' },
    { name: 'indexes from the end', src: '{.arr[-1].a}', want: '1' },
    {
      name: 'gives no result for an index out of range',
      src: '[{.arr[4]}][{.arr[-5]}]',
      want: '[][]',
    },
    {
      name: 'gives no result for a step into a scalar',
      src: '[{.s.x}][{.n[0]}][{.t[*]}]',
      want: '[][][]',
    },
    { name: 'gives no result for a step into null', src: '[{.z.x}]', want: '[]' },
    { name: 'gives no result for a key on an array', src: '[{.arr.length}]', want: '[]' },
    { name: 'gives no result for an index on an object', src: '[{.obj[0]}]', want: '[]' },
    { name: 'reads a key containing a dot through \\.', src: '{.a\\.b}', want: 'dotted' },
    {
      name: 'reads a key containing a dot in quotes without escaping',
      src: "{['a.b']}",
      want: 'dotted',
    },
    {
      name: 'unescapes quotes and backslashes in single-quoted keys',
      src: "{['q\\'\"\\\\']}",
      want: 'quoted',
    },
    {
      name: 'unescapes quotes and backslashes in double-quoted keys',
      src: '{["q\'\\"\\\\"]}',
      want: 'quoted',
    },
    {
      name: 'keeps only the results of a wildcard that have the next key',
      src: '{.arr[*].a}',
      want: '1',
    },
    { name: 'does not read inherited properties', src: '[{.obj.toString}]', want: '[]' },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(render(tc.src, doc)).to.equal(tc.want);
    });
  }

  it('renders nothing for any expression against undefined data', () => {
    expect(render('a{.x}b', undefined)).to.equal('ab');
  });
});
