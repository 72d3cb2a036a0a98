/**
 * Writes objects, lists and watch events in the negotiated representation: JSON, YAML, Table or
 * PartialObjectMetadata(List).
 */
import type { Response } from 'express';
import { stringify } from 'yaml';
import type { KubeObject, ListMeta } from '../api/meta.js';
import type { ApiWatchEvent } from '../registry/store/index.js';
import { serializedItems } from '../registry/store/read.js';
import type { IncludeObject, Representation } from './negotiate.js';
import { writeJSON } from './responses.js';
import { partialObjectMetadata, partialObjectMetadataList, table, type Columns } from './transform.js';

export interface RenderContext {
  readonly resource: Columns;
  readonly representation: Representation;
  readonly include: IncludeObject;
  readonly now: Date;
}

function write(res: Response, code: number, rc: RenderContext, body: unknown, warnings: readonly string[]): void {
  if (rc.representation.kind !== 'yaml') return writeJSON(res, code, body, warnings);
  for (const w of warnings) res.append('Warning', `299 - ${JSON.stringify(w)}`);
  res.status(code).setHeader('Content-Type', 'application/yaml');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(stringify(body));
}

export function writeObject(res: Response, code: number, rc: RenderContext, obj: KubeObject, warnings: readonly string[] = []): void {
  const rep = rc.representation;
  switch (rep.kind) {
    case 'json':
    case 'yaml':
      return write(res, code, rc, obj, warnings);
    case 'table':
      return write(res, code, rc, table(rc.resource, [obj], { resourceVersion: obj.metadata.resourceVersion ?? '' }, { include: rc.include, version: rep.version, now: rc.now, withColumns: true }), warnings);
    case 'partialObjectMetadata':
      return write(res, code, rc, partialObjectMetadata(obj, rep.version), warnings);
  }
}

export interface ListBody {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly metadata: ListMeta;
  readonly items: readonly KubeObject[];
}

export function writeList(res: Response, rc: RenderContext, list: ListBody): void {
  const rep = rc.representation;
  switch (rep.kind) {
    case 'json': {
      // A list from the watch cache: its items are JSON already, so the body is concatenation.
      const raw = serializedItems(list);
      if (raw === undefined) return write(res, 200, rc, list, []);
      const head = JSON.stringify({ kind: list.kind, apiVersion: list.apiVersion, metadata: list.metadata });
      res.status(200);
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.end(`${head.slice(0, -1)},"items":[${raw.map((s) => s.json).join(',')}]}`);
      return;
    }
    case 'yaml':
      return write(res, 200, rc, list, []);
    case 'table':
      return write(res, 200, rc, table(rc.resource, list.items, list.metadata, { include: rc.include, version: rep.version, now: rc.now, withColumns: true }), []);
    case 'partialObjectMetadata':
      return write(res, 200, rc, partialObjectMetadataList(list.items, list.metadata, rep.version), []);
  }
}

/** A per-stream event transformer: the first Table event carries the column definitions. */
export function watchEventRenderer<T extends KubeObject>(rc: RenderContext, now: () => Date): (ev: ApiWatchEvent<T>) => unknown {
  let first = true;
  const rep = rc.representation;
  return (ev) => {
    if (ev.type === 'ERROR') return ev;
    switch (rep.kind) {
      case 'json':
      case 'yaml':
        return ev;
      case 'partialObjectMetadata':
        return { type: ev.type, object: partialObjectMetadata(ev.object as KubeObject, rep.version) };
      case 'table': {
        if (ev.type === 'BOOKMARK') return ev;
        const t = table(rc.resource, [ev.object], { resourceVersion: ev.object.metadata.resourceVersion ?? '' }, { include: rc.include, version: rep.version, now: now(), withColumns: first });
        first = false;
        return { type: ev.type, object: t };
      }
    }
  };
}
