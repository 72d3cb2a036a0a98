/**
 * What the two pure reconcile passes (AccessRequest, AccessPolicy) share in the decisions they
 * return: the shape of the Events they ask for, and the comparison that keeps an unchanged status
 * from being written.
 */

/** An Event on our object; the driver adds involvedObject, source and reportingComponent (writes.ts). */
export interface ControllerEvent<R extends string = string> {
  readonly type: 'Normal' | 'Warning';
  readonly reason: R;
  readonly message: string;
}

/** Canonical JSON, so key order and `undefined` members never make two equal statuses differ. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
