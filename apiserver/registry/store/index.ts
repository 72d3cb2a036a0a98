/** The generic store for one resource: every verb, backed by Storage, driven by the resource's strategy. */
import type { KubeObject } from '../../api/meta.js';
import type { Status } from '../../api/status.js';
import type { Result } from '../../../storage/interface.js';
import type { RequestContext } from '../rest.js';
import { storeContext, type StoreContext, type StoreDeps } from './context.js';
import { create, type WriteOptions, type Written } from './create.js';
import { deleteCollection, deleteObject, type DeleteOptions, type DeleteOutcome, type PropagationPolicy } from './delete.js';
import type { Patch } from './patch.js';
import { get, list, type GetOptions, type ListOptions, type ObjectList } from './read.js';
import { patch, update, type Subresource } from './update.js';
import { watch, type ApiWatchEvent, type WatchOptions, type WatchStream } from './watch.js';

export interface Store<T extends KubeObject> {
  readonly context: StoreContext<T>;
  create(ctx: RequestContext, body: unknown, opts: WriteOptions): Promise<Result<Written<T>, Status>>;
  get(ctx: RequestContext, name: string, opts: GetOptions): Promise<Result<T, Status>>;
  list(ctx: RequestContext, opts: ListOptions): Promise<Result<ObjectList<T>, Status>>;
  watch(ctx: RequestContext, opts: WatchOptions, signal: AbortSignal): Promise<Result<WatchStream<T>, Status>>;
  update(ctx: RequestContext, name: string, body: unknown, opts: WriteOptions, sub?: Subresource): Promise<Result<Written<T>, Status>>;
  patch(ctx: RequestContext, name: string, p: Patch, opts: WriteOptions, sub?: Subresource): Promise<Result<Written<T>, Status>>;
  delete(ctx: RequestContext, name: string, opts: DeleteOptions): Promise<Result<DeleteOutcome<T>, Status>>;
  deleteCollection(ctx: RequestContext, listOpts: ListOptions, opts: DeleteOptions): Promise<Result<ObjectList<T>, Status>>;
}

export function createStore<T extends KubeObject>(deps: StoreDeps<T>): Store<T> {
  const c = storeContext(deps);
  return {
    context: c,
    create: (ctx, body, opts) => create(c, ctx, body, opts),
    get: (ctx, name, opts) => get(c, ctx, name, opts),
    list: (ctx, opts) => list(c, ctx, opts),
    watch: (ctx, opts, signal) => watch(c, ctx, opts, signal),
    update: (ctx, name, body, opts, sub) => update(c, ctx, name, body, opts, sub),
    patch: (ctx, name, p, opts, sub) => patch(c, ctx, name, p, opts, sub),
    delete: (ctx, name, opts) => deleteObject(c, ctx, name, opts),
    deleteCollection: (ctx, listOpts, opts) => deleteCollection(c, ctx, listOpts, opts),
  };
}

export type { PropagationPolicy, WriteOptions, Written, DeleteOptions, DeleteOutcome, Patch, GetOptions, ListOptions, ObjectList, Subresource, WatchOptions, ApiWatchEvent, WatchStream };
