/**
 * The approval world of the e2e tests (approval, beyond, replicas, request-access), built through
 * kubectl on the shared control plane: a `devops-…` namespace for the Connector, the AccessPolicy and
 * the AccessRequest, a `cicd-…` namespace for the task Pod, its ServiceAccount and the Tekton-style
 * ApprovalTask; the ApprovalTask CRD; the feature flags of `connectors-config`; the manifests of all
 * these objects; and the reads and waits the tests make on AccessRequests.
 *
 * One module, so that every test builds the same world the same way: the manifests differ only
 * through the parameters here, and a change to the setup is made once. Nothing here is a test.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { eventually, kubectl, serverSkipped, uniqueName, type CommandResult } from './setup.js';

export const gv = 'connectors.alauda.io/v1alpha1';
export const systemNamespace = 'connectors-system';
export const approvalFlag = 'enable-connectors-approval';
export const proxyFlag = 'enable-connector-proxy-permissions';
/** Both feature flags on, as `setFlags` takes them. */
export const bothOn = { [proxyFlag]: 'true', [approvalFlag]: 'true' };

/** A file of test/e2e/fixtures. */
export const fixture = (f: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url)), 'utf8');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** kubectl as admin (or `as`), expecting exit code 0; returns stdout. */
export async function ok(args: readonly string[], input?: string, as?: string): Promise<string> {
  const r = await kubectl(args, { ...(input === undefined ? {} : { input }), ...(as === undefined ? {} : { as }) });
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** One entry of an AccessRequest's status.policies. */
export interface PolicySnapshot {
  name: string;
  policySpec?: unknown;
  matchedChecks?: { name: string; ref: { kind: string; name: string }; condition: Condition; approvedBy?: string[] }[];
  permissionSync?: Condition;
}

/** An AccessRequest, as far as the tests read it. */
export interface RequestObject {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; grantExpiresAt?: string; policies?: PolicySnapshot[] };
}

export async function getRequest(ns: string, name: string): Promise<RequestObject | undefined> {
  const r = await kubectl(['get', 'accessrequest', name, '-n', ns, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as RequestObject) : undefined;
}

/** The request's conditions by type (none while it is missing). */
export async function conditions(ns: string, name: string): Promise<Record<string, Condition>> {
  const obj = await getRequest(ns, name);
  return Object.fromEntries((obj?.status?.conditions ?? []).map((c) => [c.type, c]));
}

/** Waits until the condition has the status and reason; returns all conditions then. */
export function waitFor(
  ns: string,
  name: string,
  type: string,
  status: string,
  reason: string,
  { timeoutMs = 60_000, intervalMs = 500 } = {},
): Promise<Record<string, Condition>> {
  return eventually(
    `${name} ${type}=${status}/${reason}`,
    async () => {
      const c = await conditions(ns, name);
      return c[type]?.status === status && c[type].reason === reason ? c : undefined;
    },
    { timeoutMs, intervalMs },
  );
}

/** One isolated world: a Connector's namespace and a Pod's namespace. */
export interface Scene {
  readonly devops: string;
  readonly cicd: string;
}

/** A task Pod with its AccessRequest. */
export interface Run {
  readonly pod: string;
  readonly uid: string;
  readonly request: string;
  readonly task: string;
  /** The name of the Role and the RoleBinding of the grant for policy `prod-harbor-approval`. */
  readonly grant: string;
}

/** A Connector of class harbor (default `prod-harbor` at `https://prod-harbor.example.com`). */
export const connectorYaml = (ns: string, name = 'prod-harbor', address = `https://${name}.example.com`): string => `apiVersion: ${gv}
kind: Connector
metadata: {name: ${name}, namespace: ${ns}}
spec: {connectorClassName: harbor, address: "${address}"}
`;

export interface PolicyOptions {
  /** Default `prod-harbor-approval`. */
  readonly name?: string;
  /** The Connector it selects; default `prod-harbor`. */
  readonly connector?: string;
  /** The role template ConfigMap; default `connectors-use-connectors-proxy-in-pod`. */
  readonly roleTemplate?: string;
  /** `params` of its check (YAML flow text); none by default. */
  readonly params?: string;
  readonly maxDuration?: string;
}

/** The §10 AccessPolicy: one manual-approval check on ApprovalTasks, a per-Pod role template. */
export const policyYaml = (ns: string, opts: PolicyOptions = {}): string => `apiVersion: ${gv}
kind: AccessPolicy
metadata: {name: ${opts.name ?? 'prod-harbor-approval'}, namespace: ${ns}}
spec:
  connector: {names: [${opts.connector ?? 'prod-harbor'}]}
  checkGrantedPermission:
    spec:
      checks: [{name: manual-approval, ref: {configMap: {name: connectors-approvals-in-pipeline}}${opts.params === undefined ? '' : `, params: ${opts.params}`}}]
      roleTemplate: {ref: {configMap: {name: ${opts.roleTemplate ?? 'connectors-use-connectors-proxy-in-pod'}}}}
${opts.maxDuration === undefined ? '' : `      maxDuration: ${opts.maxDuration}\n`}`;

/**
 * A role template ConfigMap in the system namespace: the per-Pod proxy rule, then `extraRules`
 * (further list items of `rules`, indented by four spaces).
 */
export const roleTemplateYaml = (name: string, extraRules = ''): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${systemNamespace}}
data:
  rules: |
    - apiGroups: [connectors.alauda.io]
      resources: ["connectors/proxy/v1/pod/{.object.metadata.namespace}/{.object.metadata.name}"]
      verbs: ["*"]
${extraRules}`;

/** The task Pod of PipelineRun `run`: `<run>-push-image-pod`. */
export const podName = (run: string): string => `${run}-push-image-pod`;

/** The ApprovalTask of PipelineRun `run`: `<run>-wait-for-approval`. */
export const taskName = (run: string): string => `${run}-wait-for-approval`;

/** The task Pod of PipelineRun `run` in `ns`, running as `serviceAccount`. */
export const podYaml = (ns: string, run: string, serviceAccount = 'builder'): string => `apiVersion: v1
kind: Pod
metadata: {name: ${podName(run)}, namespace: ${ns}, labels: {tekton.dev/pipelineRun: ${run}}}
spec:
  serviceAccountName: ${serviceAccount}
  containers: [{name: step, image: registry.example.com/push:1}]
`;

/** The ApprovalTask of PipelineRun `run` in `ns`: `spec` (whole lines, none by default) and `status` (YAML text). */
export const approvalTaskYaml = (ns: string, run: string, status: string, spec = ''): string => `apiVersion: openshift-pipelines.org/v1alpha1
kind: ApprovalTask
metadata: {name: ${taskName(run)}, namespace: ${ns}, labels: {tekton.dev/pipelineRun: ${run}}}
${spec}status: ${status}
`;

/** The task Pod of `run` and its ApprovalTask with `status: {state: <state><extraStatus>}`. */
export const runYaml = (ns: string, run: string, state: string, opts: { serviceAccount?: string | undefined; extraStatus?: string } = {}): string =>
  `${podYaml(ns, run, opts.serviceAccount)}---\n${approvalTaskYaml(ns, run, `{state: ${state}${opts.extraStatus ?? ''}}`)}`;

/** The uid of Pod `pod` in the Pod's namespace. */
export async function podUid(s: Scene, pod: string): Promise<string> {
  return (await ok(['get', 'pod', pod, '-n', s.cicd, '-o', 'jsonpath={.metadata.uid}'])).trim();
}

/**
 * Creates the AccessRequest `prod-harbor-<pod>` the helper files for ServiceAccount `<cicd>/builder`
 * on Connector `prod-harbor`, for the Pod of that uid; with the helper's labels unless `labels` is
 * false. Returns its name.
 */
export async function createRequest(s: Scene, pod: string, uid: string, { labels = true } = {}): Promise<string> {
  const request = `prod-harbor-${pod}`;
  const helperLabels = `, labels: {connectors.cpaas.io/contextObjectKind: Pod, connectors.cpaas.io/contextObjectName: ${pod}, connectors.cpaas.io/contextObjectNamespace: ${s.cicd}, connectors.cpaas.io/connector: prod-harbor}`;
  await ok(['create', '-f', '-'], `apiVersion: ${gv}
kind: AccessRequest
metadata: {name: ${request}, namespace: ${s.devops}${labels ? helperLabels : ''}}
spec:
  connectorRef: {name: prod-harbor}
  context: {objectRef: {apiVersion: v1, kind: Pod, namespace: ${s.cicd}, name: ${pod}, uid: ${uid}}}
  subject: {kind: ServiceAccount, name: builder, namespace: ${s.cicd}, apiGroup: ""}
`);
  return request;
}

/** Applies the ApprovalTask CRD (fixtures/approvaltask-crd.yaml) and waits until it is Established. */
export async function installApprovalTaskCrd(): Promise<void> {
  await ok(['apply', '-f', '-'], fixture('approvaltask-crd.yaml'));
  await ok(['wait', '--for=condition=Established', 'crd/approvaltasks.openshift-pipelines.org', '--timeout=60s']);
}

/**
 * Creates the scene's two namespaces (each pushed to `created`, if given, once it exists) and the
 * ServiceAccounts in the Pod's namespace.
 */
export async function createNamespaces(s: Scene, serviceAccounts: readonly string[] = ['builder'], created?: string[]): Promise<void> {
  for (const ns of [s.devops, s.cicd]) {
    await ok(['create', 'namespace', ns]);
    created?.push(ns);
  }
  for (const sa of serviceAccounts) await ok(['create', 'serviceaccount', sa, '-n', s.cicd]);
}

/** The two feature flags as they are in `connectors-config` (undefined: not set). */
export async function readFlags(): Promise<Record<string, string | undefined>> {
  const out = await ok(['get', 'configmap', 'connectors-config', '-n', systemNamespace, '-o', 'json']);
  const data = (JSON.parse(out) as { data?: Record<string, string> }).data ?? {};
  return { [proxyFlag]: data[proxyFlag], [approvalFlag]: data[approvalFlag] };
}

/** Merge-patches the flags; `null` removes a key. */
export async function setFlags(flags: Record<string, string | null | undefined>): Promise<void> {
  const data = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, v ?? null]));
  await ok(['patch', 'configmap', 'connectors-config', '-n', systemNamespace, '--type=merge', '-p', JSON.stringify({ data })]);
}

/** The Roles and RoleBindings labelled as approval grants (of `run`, or of any request) in the Connector's namespace. */
export async function grantObjects(s: Scene, run?: Pick<Run, 'request'>): Promise<string[]> {
  const selector = `connectors.alauda.io/accessRequest${run === undefined ? '' : `=${run.request}`}`;
  const out = await ok(['get', 'roles,rolebindings', '-n', s.devops, '-l', selector, '-o', 'name']);
  return out.split('\n').filter((l) => l !== '');
}

/** The reasons of the events about `request`. */
export async function eventReasons(s: Scene, request: string): Promise<string[]> {
  const out = await ok(['get', 'events', '-n', s.devops, '--field-selector', `involvedObject.name=${request}`, '-o', 'jsonpath={.items[*].reason}']);
  return out.split(/\s+/).filter((x) => x !== '');
}

/** `kubectl auth can-i` as the Pod's ServiceAccount `<cicd>/builder`, for its per-Pod proxy subresource. */
export function authCanI(s: Scene, pod: string): Promise<CommandResult> {
  return kubectl(['auth', 'can-i', '*', 'connectors/prod-harbor', `--subresource=proxy/v1/pod/${s.cicd}/${pod}`, '-n', s.devops], {
    as: `system:serviceaccount:${s.cicd}:builder`,
    asGroups: ['system:serviceaccounts', `system:serviceaccounts:${s.cicd}`],
  });
}

export interface SceneOptions {
  /** The AccessPolicy `prod-harbor-approval` next to the Connector; false: none. */
  readonly policy?: PolicyOptions | false;
  /** ServiceAccounts of the Pod's namespace; default `builder`. */
  readonly serviceAccounts?: readonly string[];
}

/** Scenes of one describe block, and what its `after` hook removes. */
export interface Scenes {
  /**
   * Namespaces `devops-…` and `cicd-…`, the ServiceAccounts in the latter, the Connector
   * `prod-harbor` and, unless `policy` is false, the AccessPolicy `prod-harbor-approval`.
   */
  newScene(opts?: SceneOptions): Promise<Scene>;
  /** ConfigMaps in the system namespace a test made (e.g. role templates), deleted in `after`. */
  readonly createdConfigMaps: string[];
}

/**
 * Mocha helper for a describe block (after `useControlPlane()`): a `before` hook that skips without
 * our server, installs the ApprovalTask CRD and switches both feature flags on, and an `after` hook
 * that deletes the scenes' namespaces and the recorded ConfigMaps and puts the flags back.
 */
export function useScenes(): Scenes {
  const createdNamespaces: string[] = [];
  const createdConfigMaps: string[] = [];
  let savedFlags: Record<string, string | undefined> | undefined;

  before(async function () {
    if (serverSkipped()) this.skip();
    this.timeout(120_000);
    await installApprovalTaskCrd();
    savedFlags = await readFlags();
    await setFlags(bothOn);
  });

  after(async function () {
    this.timeout(60_000);
    if (createdNamespaces.length > 0) await kubectl(['delete', 'namespace', ...createdNamespaces, '--wait=false']);
    if (createdConfigMaps.length > 0) await kubectl(['delete', 'configmap', ...createdConfigMaps, '-n', systemNamespace, '--ignore-not-found']);
    if (savedFlags !== undefined) await setFlags(savedFlags);
  });

  return {
    createdConfigMaps,
    async newScene(opts: SceneOptions = {}): Promise<Scene> {
      const s: Scene = { devops: uniqueName('devops'), cicd: uniqueName('cicd') };
      await createNamespaces(s, opts.serviceAccounts, createdNamespaces);
      const policy = opts.policy === false ? '' : `---\n${policyYaml(s.devops, opts.policy)}`;
      await ok(['apply', '-f', '-'], connectorYaml(s.devops) + policy);
      return s;
    },
  };
}
