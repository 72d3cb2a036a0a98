/**
 * The I/O of an AccessReview (domain spec §11.3): gathers what `./compute.ts` needs — our own
 * Connectors and AccessPolicies through the stores; the Pod, the system namespace's ConfigMaps
 * (flags and templates), the check objects and the subject's SubjectAccessReviews from the main API
 * server — and asks, on the caller's behalf, what the caller may read. Nothing is written anywhere.
 *
 * The caller's rights are asked through the server's Authorizer: in a cluster that is the
 * delegating authorizer, i.e. SubjectAccessReviews with the caller's user, groups, extra and uid
 * (cached 10 s, a failed review counts as denied).
 */
import { rfc3339, type KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import type { Status } from '../../api/status.js';
import { forbiddenStatus } from '../../auth/delegating.js';
import type { Authorizer } from '../../auth/types.js';
import type { AccessPolicy, AccessReview, AccessReviewStatus } from '../../apis/connectors/v1alpha1/types.js';
import { group, version } from '../../apis/connectors/v1alpha1/types.js';
import type { CheckListing, CheckSearch, RegoJob, RegoOutcome } from '../../controller/checks.js';
import { parseControllerConfig } from '../../controller/config.js';
import type { KubeClient } from '../../controller/kube-client.js';
import type { CheckObject, ConfigMap, Connector, Pod } from '../../controller/objects.js';
import { selectorText } from '../../controller/selector.js';
import type { RequestInfo } from '../../endpoints/request-info.js';
import type { Result } from '../../../storage/interface.js';
import type { RequestContext, UserInfo } from '../rest.js';
import type { Store } from '../store/index.js';
import { computeReview, reviewSearches, searchKey, subjectReviews, type ReviewListing } from './compute.js';

export interface AccessReviewBackendOptions {
  /** The main API server, as the server's own identity. */
  readonly client: KubeClient;
  readonly stores: readonly Store<KubeObject>[];
  /** `--system-namespace`: the config ConfigMap and all templates. */
  readonly systemNamespace: string;
  /** `--config-map-name`. */
  readonly configMapName: string;
  /** Runs `state.rego` jobs with the real OPA; absent: such checks are `Failed` with a clear message. */
  readonly evaluateRego?: (jobs: readonly RegoJob[]) => Promise<ReadonlyMap<string, RegoOutcome>>;
  readonly now?: () => Date;
}

export interface AccessReviewBackend {
  /** The status for a defaulted, validated review; a Status for 403 (Connector or Pod not readable) or 503. */
  answer(review: AccessReview, caller: UserInfo, authorizer: Authorizer): Promise<Result<AccessReviewStatus, Status>>;
}

const resourceInfo = (verb: 'get' | 'list', grp: string, ver: string, resource: string, namespace: string | undefined, name?: string): RequestInfo => ({
  kind: 'resource',
  verb,
  group: grp,
  version: ver,
  namespace,
  resource,
  name,
  subresource: undefined,
  extraParts: [],
});

const apiBase = (apiVersion: string): { group: string; version: string; path: string } => {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return { group: '', version: apiVersion, path: `/api/${apiVersion}` };
  const g = apiVersion.slice(0, slash);
  const v = apiVersion.slice(slash + 1);
  return { group: g, version: v, path: `/apis/${g}/${v}` };
};

const enc = encodeURIComponent;

function storeOf(stores: readonly Store<KubeObject>[], plural: string): Store<KubeObject> {
  const s = stores.find((x) => x.context.resource.plural === plural);
  if (s === undefined) throw new Error(`no store for ${plural}`);
  return s;
}

const unavailable = (what: string, code: number, message: string): Status =>
  status.serviceUnavailable(`AccessReview: could not ${what} from the main API server: ${code === 0 ? '' : `${String(code)} `}${message}`);

export function createAccessReviewBackend(opts: AccessReviewBackendOptions): AccessReviewBackend {
  const client = opts.client;
  const now = opts.now ?? (() => new Date());
  const connectors = storeOf(opts.stores, 'connectors');
  const accessPolicies = storeOf(opts.stores, 'accesspolicies');

  /** `<Kind>` of `<apiVersion>` → its plural, through discovery (per review: kinds come and go). */
  const resolvePlural = async (apiVersion: string, kind: string): Promise<Result<string, string>> => {
    const base = apiBase(apiVersion);
    const r = await client.call<{ resources?: { name: string; kind: string }[] }>('GET', base.path);
    if (!r.ok && r.code !== 404) return { ok: false, error: `discovery of ${apiVersion}: ${String(r.code)} ${r.message}` };
    const found = r.ok ? (r.body.resources ?? []).find((x) => x.kind === kind && !x.name.includes('/')) : undefined;
    return found === undefined ? { ok: false, error: `kind ${kind} of ${apiVersion} is not served by the cluster` } : { ok: true, value: found.name };
  };

  /** One search: hidden when the caller may not list the kind there, else the server's own listing. */
  const listSearch = async (s: CheckSearch, caller: UserInfo, authorizer: Authorizer): Promise<ReviewListing> => {
    const failed = (message: string): CheckListing => ({ ok: false, retry: false, message });
    const plural = await resolvePlural(s.apiVersion, s.kind);
    if (!plural.ok) return failed(plural.error);
    const base = apiBase(s.apiVersion);
    const decision = await authorizer.authorize(caller, resourceInfo('list', base.group, base.version, plural.value, s.namespace));
    if (!decision.allowed) return { hidden: `${plural.value}${base.group === '' ? '' : `.${base.group}`} in ${s.namespace}` };
    const q = new URLSearchParams();
    const sel = selectorText(s.selector);
    if (sel !== '') q.set('labelSelector', sel);
    if (s.name !== undefined) q.set('fieldSelector', `metadata.name=${s.name}`);
    const query = q.toString();
    const r = await client.call<{ items?: CheckObject[] }>('GET', `${base.path}/namespaces/${enc(s.namespace)}/${plural.value}${query === '' ? '' : `?${query}`}`);
    if (!r.ok) return failed(`list ${plural.value} in namespace ${s.namespace}: ${String(r.code)} ${r.message}`);
    // List items may come without apiVersion/kind; the verdicts and refs need both.
    return { ok: true, items: (r.body.items ?? []).map((o) => ({ ...o, apiVersion: s.apiVersion, kind: s.kind })) };
  };

  /** §7 step 1 for the subject: the first allowed SAR wins; its reason names RoleBinding and Role. */
  const subjectAccess = async (review: AccessReview): Promise<Result<{ allowed: boolean; reason: string }, Status>> => {
    for (const spec of subjectReviews(review)) {
      const r = await client.call<{ status?: { allowed?: boolean; reason?: string } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec,
      });
      if (!r.ok) return { ok: false, error: unavailable('ask a SubjectAccessReview', r.code, r.message) };
      if (r.body.status?.allowed === true) return { ok: true, value: { allowed: true, reason: r.body.status.reason ?? '' } };
    }
    return { ok: true, value: { allowed: false, reason: '' } };
  };

  const answer = async (review: AccessReview, caller: UserInfo, authorizer: Authorizer): Promise<Result<AccessReviewStatus, Status>> => {
    const ns = review.metadata.namespace ?? '';
    const connectorName = review.spec.connectorRef.name;
    const ref = review.spec.context.objectRef;
    const ctx: RequestContext = { namespace: ns, user: caller, now };

    // The Connector and an existing Pod are what the review is about: not readable → 403 for all of it.
    const mustRead: RequestInfo[] = [resourceInfo('get', group, version, 'connectors', ns, connectorName)];
    if (ref !== undefined) mustRead.push(resourceInfo('get', '', 'v1', 'pods', ref.namespace ?? '', ref.name ?? ''));
    for (const info of mustRead) {
      const d = await authorizer.authorize(caller, info);
      if (!d.allowed) return { ok: false, error: forbiddenStatus(caller, info, d.reason) };
    }

    const [connector, livePod, configMaps, mayListPolicies, mayListBindings, access] = await Promise.all([
      connectors.get(ctx, connectorName, { resourceVersion: '' }),
      ref === undefined
        ? Promise.resolve<Result<Pod | undefined, Status>>({ ok: true, value: undefined })
        : client.call<Pod>('GET', `/api/v1/namespaces/${enc(ref.namespace ?? '')}/pods/${enc(ref.name ?? '')}`).then((r): Result<Pod | undefined, Status> => {
            if (r.ok) return { ok: true, value: r.body };
            if (r.code === 404) return { ok: true, value: undefined };
            return { ok: false, error: unavailable(`read Pod ${ref.namespace ?? ''}/${ref.name ?? ''}`, r.code, r.message) };
          }),
      client.call<{ items?: ConfigMap[] }>('GET', `/api/v1/namespaces/${enc(opts.systemNamespace)}/configmaps`).then((r): Result<Map<string, ConfigMap>, Status> =>
        r.ok
          ? { ok: true, value: new Map((r.body.items ?? []).map((c) => [c.metadata.name ?? '', c])) }
          : { ok: false, error: unavailable(`list ConfigMaps in namespace ${opts.systemNamespace}`, r.code, r.message) },
      ),
      authorizer.authorize(caller, resourceInfo('list', group, version, 'accesspolicies', ns)),
      Promise.all([
        authorizer.authorize(caller, resourceInfo('list', 'rbac.authorization.k8s.io', 'v1', 'rolebindings', ns)),
        authorizer.authorize(caller, resourceInfo('list', 'rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', undefined)),
      ]).then((ds) => ds.every((d) => d.allowed)),
      subjectAccess(review),
    ]);
    if (!connector.ok && connector.error.code !== 404) return connector;
    if (!livePod.ok) return livePod;
    if (!configMaps.ok) return configMaps;
    if (!access.ok) return access;

    let policies: AccessPolicy[] | undefined;
    if (mayListPolicies.allowed) {
      const listed = await accessPolicies.list(ctx, { labelSelector: [], fieldSelector: [], limit: 0, continue: '', resourceVersion: '', resourceVersionMatch: undefined });
      if (!listed.ok) return listed;
      policies = listed.value.items as AccessPolicy[];
    }

    const base = {
      review,
      livePod: livePod.value,
      connector: connector.ok ? (connector.value as Connector) : undefined,
      policies,
      configMaps: configMaps.value,
      systemNamespace: opts.systemNamespace,
    };
    const searches = reviewSearches(base);
    const listed = await Promise.all(searches.map(async (s) => [searchKey(s), await listSearch(s, caller, authorizer)] as const));
    const inputs = {
      ...base,
      flags: parseControllerConfig(configMaps.value.get(opts.configMapName)?.data).flags,
      listings: new Map<string, ReviewListing>(listed),
      access: access.value,
      roleBindingsHidden: !mayListBindings,
      now: rfc3339(now()),
    };
    const regoResults = new Map<string, RegoOutcome>();
    let outcome = computeReview({ ...inputs, regoResults });
    for (let round = 0; outcome.kind === 'needsRego' && round < 3; round++) {
      const results: ReadonlyMap<string, RegoOutcome> =
        opts.evaluateRego === undefined
          ? new Map(outcome.jobs.map((j) => [j.key, { ok: false, error: 'Rego checks need the OPA binary (--opa-path) and it is not configured' } as RegoOutcome]))
          : await opts.evaluateRego(outcome.jobs);
      for (const [k, v] of results) regoResults.set(k, v);
      outcome = computeReview({ ...inputs, regoResults });
    }
    if (outcome.kind === 'needsRego') return { ok: false, error: status.serviceUnavailable('AccessReview: Rego results incomplete; try again') };
    return { ok: true, value: outcome.status };
  };

  return { answer };
}
