/**
 * metav1.LabelSelector (matchLabels + matchExpressions) as the parsed selectors of
 * `api/selector/labels.ts`, like LabelSelectorAsSelector, and back to label-selector syntax for
 * messages (`tekton.dev/pipelineRun=promote-run-abc12`).
 */
import type { Result } from '../../storage/interface.js';
import { matchesLabels } from '../api/selector/labels.js';
import type { LabelSelector, Requirement } from '../api/selector/labels.js';
import type { LabelSelectorRequirement } from '../apis/connectors/v1alpha1/types.js';
import { compareStrings } from './conditions.js';

export interface LabelSelectorTerms {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | undefined;
}

/** Requirements sorted by key, as Kubernetes builds them; an unknown operator is an error. */
export function selectorFromTerms(terms: LabelSelectorTerms): Result<LabelSelector, string> {
  const reqs: Requirement[] = Object.entries(terms.matchLabels ?? {}).map(([key, v]) => ({
    key,
    operator: 'Equals',
    values: [v],
  }));
  for (const e of terms.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort(compareStrings);
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return { ok: false, error: `${e.key}: operator ${e.operator} needs values` };
        reqs.push({ key: e.key, operator: e.operator, values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        reqs.push({ key: e.key, operator: e.operator, values: [] });
        break;
      default:
        return { ok: false, error: `${e.key}: ${JSON.stringify(e.operator)} is not a valid label selector operator` };
    }
  }
  return { ok: true, value: [...reqs].sort((a, b) => compareStrings(a.key, b.key)) };
}

export const selectorMatches = (sel: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean =>
  matchesLabels(sel, labels);

/** Label-selector syntax, as labels.Selector.String() prints it. */
export function selectorText(sel: LabelSelector): string {
  return sel
    .map((r) => {
      switch (r.operator) {
        case 'Equals':
          return `${r.key}=${r.values[0] ?? ''}`;
        case 'NotEquals':
          return `${r.key}!=${r.values[0] ?? ''}`;
        case 'In':
          return `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(',');
}
