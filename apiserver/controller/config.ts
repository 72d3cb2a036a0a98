/**
 * The `connectors-config` ConfigMap of domain spec §8, parsed. Missing ConfigMap or key = default;
 * only the exact string "true" enables a flag; unknown keys are ignored. Anything the operator wrote
 * that is not honoured comes back in `warnings`, for the driver to log.
 */

export interface FeatureFlags {
  /** `enable-connector-proxy-permissions` */
  readonly connectorProxyPermissions: boolean;
  /** `enable-connectors-approval` */
  readonly connectorsApproval: boolean;
}

export interface CheckKind {
  /** `""` for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** `<group>/<version>`, or `<version>` for the core group: what `objectRef.apiVersion` holds. */
  readonly apiVersion: string;
}

export interface ControllerConfig {
  readonly flags: FeatureFlags;
  readonly checkKinds: readonly CheckKind[];
  readonly warnings: readonly string[];
}

export const flagKeys = {
  connectorProxyPermissions: 'enable-connector-proxy-permissions',
  connectorsApproval: 'enable-connectors-approval',
} as const;

export const defaultCheckKinds = 'openshift-pipelines.org/v1alpha1/ApprovalTask';

export const allFlagsOn: FeatureFlags = { connectorProxyPermissions: true, connectorsApproval: true };

/** Both flags must be on for AccessRequests to be evaluated (§1.3). */
export const isApprovalEnabled = (f: FeatureFlags): boolean => f.connectorProxyPermissions && f.connectorsApproval;

/** The names of the flags that are off, `enable-connectors-approval` first (§5.2 step 2). */
export function disabledFlags(f: FeatureFlags): string[] {
  const off: string[] = [];
  if (!f.connectorsApproval) off.push(flagKeys.connectorsApproval);
  if (!f.connectorProxyPermissions) off.push(flagKeys.connectorProxyPermissions);
  return off;
}

/** `<group>/<version>/<Kind>`, or `<version>/<Kind>` for the core group. */
export function parseCheckKind(entry: string): CheckKind | undefined {
  const parts = entry.split('/');
  const valid = (p: string | undefined): p is string => p !== undefined && p !== '' && !/\s/.test(p);
  if (parts.length === 2) {
    const [version, kind] = parts;
    if (!valid(version) || !valid(kind)) return undefined;
    return { group: '', version, kind, apiVersion: version };
  }
  if (parts.length === 3) {
    const [group, version, kind] = parts;
    if (!valid(group) || !valid(version) || !valid(kind)) return undefined;
    return { group, version, kind, apiVersion: `${group}/${version}` };
  }
  return undefined;
}

export function parseControllerConfig(data: Readonly<Record<string, string>> | undefined): ControllerConfig {
  const d = data ?? {};
  const warnings: string[] = [];
  const flag = (key: string): boolean => {
    const v = d[key];
    if (v === undefined || v === 'true' || v === 'false') return v === 'true';
    warnings.push(`${key}: ${JSON.stringify(v)} is not "true" and counts as off`);
    return false;
  };
  const flags: FeatureFlags = {
    connectorProxyPermissions: flag(flagKeys.connectorProxyPermissions),
    connectorsApproval: flag(flagKeys.connectorsApproval),
  };
  const checkKinds: CheckKind[] = [];
  for (const raw of (d['check-kinds'] ?? defaultCheckKinds).split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const k = parseCheckKind(entry);
    if (k === undefined) warnings.push(`check-kinds: ignoring malformed entry ${JSON.stringify(entry)}`);
    else if (!checkKinds.some((c) => c.apiVersion === k.apiVersion && c.kind === k.kind)) checkKinds.push(k);
  }
  return { flags, checkKinds, warnings };
}
