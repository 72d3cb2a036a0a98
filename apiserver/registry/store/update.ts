/**
 * PUT and PATCH (and writable /status) over the shared CAS write path (./guarded-update.ts). A PATCH
 * is re-applied to the newest object when the CAS loses a race (no 409), a PUT with a stale
 * resourceVersion is a 409. Server-side apply is a PATCH too; it lives in ./apply.ts.
 */
import { invalid as invalidField } from '../../api/field.js';
import type { KubeObject } from '../../api/meta.js';
import * as status from '../../api/status.js';
import { isStatus, type Status } from '../../api/status.js';
import type { Result } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import { apply } from './apply.js';
import { clone, type StoreContext } from './context.js';
import type { WriteOptions, Written } from './create.js';
import { decodeBody } from './decode.js';
import { guardedUpdate, strategyFor } from './guarded-update.js';
import type { Subresource } from './managed.js';
import { applyPatch, type Patch } from './patch.js';

export type { Subresource };

/** PUT …/<name>[/status]. */
export async function update<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  body: unknown,
  opts: WriteOptions,
  sub: Subresource = 'main',
): Promise<Result<Written<T>, Status>> {
  const decoded = decodeBody(c, clone(body), opts.fieldValidation);
  if (!decoded.ok) return decoded;
  const wanted = decoded.value.object;
  // As the PUT handler does before touching storage: the URL names the object.
  if ((wanted.metadata.name ?? '') !== name) {
    return { ok: false, error: status.badRequest(`the name of the object (${wanted.metadata.name ?? ''}) does not match the name on the URL (${name})`) };
  }
  const rv = wanted.metadata.resourceVersion ?? '';
  const strategy = strategyFor(c, sub);
  if (isStatus(strategy)) return { ok: false, error: strategy };
  if (rv === '' && !strategy.allowUnconditionalUpdate(ctx)) {
    return {
      ok: false,
      error: status.invalid(c.resource.group, c.resource.kind, name, [
        { ...invalidField('metadata.resourceVersion', '', 'must be specified for an update'), message: 'Invalid value: 0x0: must be specified for an update' },
      ]),
    };
  }
  return guardedUpdate(c, ctx, {
    name,
    sub,
    opts,
    intent: (current) => {
      if (rv !== '' && rv !== current.metadata.resourceVersion) return { ok: false, error: status.staleResourceVersion(c.gr, name) };
      return { ok: true, value: { object: clone(wanted), warnings: decoded.value.warnings } };
    },
  });
}

/** PATCH …/<name>[/status]: a JSON patch, a merge patch or a server-side apply. */
export async function patch<T extends KubeObject>(
  c: StoreContext<T>,
  ctx: RequestContext,
  name: string,
  p: Patch,
  opts: WriteOptions,
  sub: Subresource = 'main',
): Promise<Result<Written<T>, Status>> {
  if (p.type === 'apply') return apply(c, ctx, name, p, opts, sub);
  return guardedUpdate(c, ctx, {
    name,
    sub,
    opts,
    intent: (current) => {
      const patched = applyPatch(current, p);
      if (!patched.ok) return patched;
      const decoded = decodeBody(c, patched.value, opts.fieldValidation);
      if (!decoded.ok) return decoded;
      const obj = decoded.value.object;
      // A patch that sets resourceVersion asks for optimistic concurrency against that version.
      if ((obj.metadata.resourceVersion ?? '') !== (current.metadata.resourceVersion ?? '')) {
        return { ok: false, error: status.staleResourceVersion(c.gr, name) };
      }
      return { ok: true, value: { object: obj, warnings: [...decoded.value.warnings] } };
    },
  });
}
