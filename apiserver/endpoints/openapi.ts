/**
 * /openapi/v2, /openapi/v3 and /openapi/v3/apis/<group>/<version> (OAPI-1..3): built once from the
 * schema source, served with ETag and If-None-Match, the v3 group-version document addressed by
 * content hash (immutable when the hash is current, 301 to the current URL when it is stale).
 */
import type { Request, Response } from 'express';
import * as status from '../api/status.js';
import { buildOpenAPIV2, buildOpenAPIV3, canonicalJSON, documentHash } from '../../openapi/documents.js';
import type { ResourceDefinition } from '../registry/rest.js';
import { parseAccept } from './negotiate.js';
import { writeStatus } from './responses.js';

interface Served {
  readonly body: string;
  readonly etag: string;
  readonly hash: string;
}

const serve = (doc: unknown): Served => {
  const hash = documentHash(doc);
  return { body: canonicalJSON(doc), etag: `"${hash}"`, hash };
};

/** JSON is the only form we produce; a client asking for protobuf only gets 406 and falls back. */
const acceptsJSON = (accept: string | undefined): boolean =>
  parseAccept(accept).some((r) => (r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*') && r.params['as'] === undefined);

export function openAPIHandler(group: string, version: string, resources: readonly ResourceDefinition[]): (req: Request, res: Response, path: string) => boolean {
  const v2 = serve(buildOpenAPIV2(resources));
  const v3 = serve(buildOpenAPIV3(resources));
  const gvPath = `apis/${group}/${version}`;
  const v3Root = JSON.stringify({ paths: { [gvPath]: { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${v3.hash}` } } });
  const yearMs = 365 * 24 * 3600 * 1000;

  const send = (req: Request, res: Response, body: string, etag: string | undefined, cache: 'immutable' | 'revalidate'): void => {
    res.setHeader('Vary', 'Accept');
    if (etag !== undefined) res.setHeader('ETag', etag);
    if (cache === 'immutable') {
      res.setHeader('Cache-Control', 'public, immutable');
      res.setHeader('Expires', new Date(Date.now() + yearMs).toUTCString());
    } else res.setHeader('Cache-Control', 'no-cache, private');
    if (etag !== undefined && req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/json');
    res.end(body);
  };

  /** Returns false when the path is not an OpenAPI path. */
  return (req, res, path) => {
    if (path !== '/openapi/v2' && path !== '/openapi/v3' && path !== `/openapi/v3/${gvPath}`) return false;
    if (!acceptsJSON(req.headers.accept)) {
      writeStatus(res, status.notAcceptable('only application/json is served for OpenAPI documents'));
      return true;
    }
    if (path === '/openapi/v2') send(req, res, v2.body, v2.etag, 'revalidate');
    else if (path === '/openapi/v3') send(req, res, v3Root, undefined, 'revalidate');
    else {
      const asked = new URL(req.originalUrl, 'https://localhost').searchParams.get('hash');
      if (asked !== null && asked !== v3.hash) {
        // A stale hash (kubectl's disk cache): redirect to the current document (the one allowed 3xx).
        res.redirect(301, `/openapi/v3/${gvPath}?hash=${v3.hash}`);
      } else send(req, res, v3.body, v3.etag, asked === null ? 'revalidate' : 'immutable');
    }
    return true;
  };
}
