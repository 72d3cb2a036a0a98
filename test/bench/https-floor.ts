/**
 * The least a Node HTTPS server can do per request: answer every request with the same ~830-byte
 * JSON body (an AccessRequest as we store it) over keep-alive TLS. hot-path.ts `--floor` runs it
 * beside our server, to compare CPU per GET with what node:https itself costs.
 */
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

const [certFile, keyFile, portArg] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || portArg === undefined) throw new Error('usage: https-floor.ts <cert> <key> <port>');
const body = Buffer.from(process.env['FLOOR_BODY'] ?? '{}');
createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}).listen(Number(portArg), '127.0.0.1');
