/**
 * Splits a request path into Kubernetes request attributes, like k8s.io/apiserver's
 * RequestInfoFactory: /apis/<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]],
 * plus the legacy /watch/ prefix. Authorization and the handlers both read this one result.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export type RequestInfo =
  | { readonly kind: 'nonResource'; readonly path: string; readonly verb: string }
  | {
      readonly kind: 'resource';
      readonly verb: Verb;
      readonly group: string;
      readonly version: string;
      readonly namespace: string | undefined;
      readonly resource: string;
      readonly name: string | undefined;
      readonly subresource: string | undefined;
      /** Path segments after the subresource: present only for paths nothing serves (→ 404). */
      readonly extraParts: readonly string[];
    };

const watchRequested = (q: URLSearchParams): boolean => {
  const w = q.get('watch');
  return w !== null && w !== 'false' && w !== '0';
};

/** Returns undefined for a path that is not valid (bad segments): the caller answers 400/404. */
export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const lower = method.toLowerCase();
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'apis' || parts.length < 4) return { kind: 'nonResource', path: pathname, verb: lower };
  let rest = parts.slice(1);
  let legacyWatch = false;
  // /apis/<g>/<v>/watch/... is the deprecated watch prefix, still used by old clients.
  if (rest[2] === 'watch') {
    legacyWatch = true;
    rest = [rest[0] ?? '', rest[1] ?? '', ...rest.slice(3)];
  }
  const [group = '', version = '', ...tail] = rest;
  let namespace: string | undefined;
  let segs = tail;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    namespace = segs[1];
    segs = segs.slice(2);
  } else if (segs[0] === 'namespaces' && segs.length === 2) {
    // /namespaces/<ns> itself is the core Namespace resource, not ours.
    return { kind: 'nonResource', path: pathname, verb: lower };
  }
  const [resource = '', name, subresource, ...extraParts] = segs;
  if (resource === '') return { kind: 'nonResource', path: pathname, verb: lower };
  let verb: Verb;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = name === undefined ? (legacyWatch || watchRequested(query) ? 'watch' : 'list') : legacyWatch || watchRequested(query) ? 'watch' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      return { kind: 'nonResource', path: pathname, verb: lower };
  }
  return { kind: 'resource', verb, group, version, namespace, resource, name, subresource, extraParts };
}
