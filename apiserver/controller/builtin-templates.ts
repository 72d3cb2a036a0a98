/**
 * The built-in templates (connectors-approval.md §8): the role templates of defaultPermission and
 * checkGrantedPermission, and the ApprovalTask check template. They ship in the install manifests
 * (manifests/templates.yaml; a unit test keeps the two the same) and, since a cluster may have lost
 * one, the server creates any that is missing in the system namespace at start-up. An existing one
 * is never overwritten: an admin may have edited it.
 */
import { sleep } from '../../storage/sleep.js';
import type { KubeClient } from './kube-client.js';

export interface TemplateConfigMap {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly data: Readonly<Record<string, string>>;
}

const checkTemplateLabel = { 'connectors.cpaas.io/templateType': 'accessPolicyCheckTemplate' };

export function builtinTemplates(namespace: string): readonly TemplateConfigMap[] {
  const cm = (name: string, displayName: string, data: Record<string, string>, labels?: Record<string, string>): TemplateConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(labels === undefined ? {} : { labels }), annotations: { 'cpaas.io/display-name': displayName } },
    data,
  });
  return [
    cm('connectors-use-connectors-proxy', 'Use Connectors APIs', {
      rules: ['- apiGroups: [connectors.alauda.io]', '  resources: [connectors/proxy]', '  verbs: ["*"]', ''].join('\n'),
    }),
    cm('connectors-use-connectors-proxy-in-pod', 'Use Connectors APIs in Pipeline', {
      rules: [
        '- apiGroups: [connectors.alauda.io]',
        '  resources: ["connectors/proxy/v1/pod/{.object.metadata.namespace}/{.object.metadata.name}"]',
        '  verbs: ["*"]',
        '',
      ].join('\n'),
    }),
    cm(
      'connectors-approvals-in-pipeline',
      'Manual Approval in Pipeline',
      {
        spec: [
          'selector:',
          '  objectRef:',
          '    apiVersion: openshift-pipelines.org/v1alpha1',
          '    kind: ApprovalTask',
          '  matchLabels:',
          `    tekton.dev/pipelineRun: '{.object.metadata.labels["tekton\\.dev/pipelineRun"]}'`,
          'state:',
          '  rego: ""',
          '',
        ].join('\n'),
      },
      checkTemplateLabel,
    ),
  ];
}

export interface EnsureTemplatesOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly signal: AbortSignal;
  /** Between rounds while some could not be created (the namespace missing, the API unavailable); default 2 s doubling to 60 s. */
  readonly retryMs?: { readonly initial: number; readonly max: number };
}

/**
 * Creates each built-in template that does not exist, retrying the ones that failed until all exist
 * or the signal ends it. A 409 means it exists: left as it is. Resolves to the names it created.
 */
export async function ensureBuiltinTemplates(o: EnsureTemplatesOptions): Promise<string[]> {
  const created: string[] = [];
  let pending = [...builtinTemplates(o.namespace)];
  let delay = o.retryMs?.initial ?? 2000;
  const maxDelay = o.retryMs?.max ?? 60_000;
  while (pending.length > 0 && !o.signal.aborted) {
    const failed: TemplateConfigMap[] = [];
    for (const t of pending) {
      const r = await o.client.call('POST', `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/configmaps`, t, o.signal);
      if (r.ok) {
        created.push(t.metadata.name);
        o.log({ level: 'info', msg: 'created a missing built-in template', namespace: o.namespace, name: t.metadata.name });
      } else if (r.code !== 409) {
        failed.push(t);
        if (!o.signal.aborted) o.log({ level: 'warning', msg: 'could not create a built-in template; retrying', namespace: o.namespace, name: t.metadata.name, code: r.code, error: r.message });
      }
    }
    pending = failed;
    if (pending.length > 0) {
      await sleep(delay, o.signal);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
  return created;
}
