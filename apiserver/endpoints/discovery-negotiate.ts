/**
 * Which form of /apis a client asked for (DISC-3): aggregated discovery (v2, or v2beta1) through
 * the Accept parameters, else the legacy APIGroupList. The aggregator sends only the aggregated
 * ranges; answering it anything else makes it fall back to per-version discovery every minute.
 */
import { parseAccept } from './negotiate.js';

export type DiscoveryForm = { readonly kind: 'aggregated'; readonly version: 'v2' | 'v2beta1' } | { readonly kind: 'legacy' } | { readonly kind: 'none' };

export function discoveryForm(accept: string | undefined): DiscoveryForm {
  for (const r of parseAccept(accept)) {
    const as = r.params['as'];
    if (as === 'APIGroupDiscoveryList' && r.params['g'] === 'apidiscovery.k8s.io' && (r.type === 'application/json' || r.type === '*/*')) {
      const v = r.params['v'];
      if (v === 'v2' || v === 'v2beta1') return { kind: 'aggregated', version: v };
      continue;
    }
    if (as === undefined && (r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*')) return { kind: 'legacy' };
  }
  return { kind: 'none' };
}

export const aggregatedContentType = (v: 'v2' | 'v2beta1'): string => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
