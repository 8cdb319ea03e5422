// A private S3 bucket on 127.0.0.1: s3rver (npm: a real S3-compatible server:
// buckets, objects, ETags, byte ranges) behind a gate that makes the bucket
// private. s3rver 3.7 checks only the access key of a V4 signature, not the
// signature itself ("V4 signatures have incomplete support"), so the gate
// verifies each request's Signature V4 itself with AWS's own signer
// (@smithy/signature-v4, an implementation independent of the aws4fetch
// signer under test) and forwards only requests whose signature matches:
// unsigned -> 403 AccessDenied, wrong key or signature -> 403
// SignatureDoesNotMatch, as S3 answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import S3rver from 's3rver';

export interface PrivateBucket {
  /** http://127.0.0.1:port/bucket */
  url: string;
  /** Requests that reached the gate, and the Authorization headers and hosts they carried. */
  log: { path: string; authorized: boolean; host: string | undefined; authorization: string | undefined }[];
  put(key: string, data: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function verify(req: IncomingMessage, port: number, creds: { accessKeyId: string; secretAccessKey: string }, region: string): Promise<string | undefined> {
  const auth = req.headers.authorization;
  if (!auth) return 'AccessDenied';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m || m[1] !== creds.accessKeyId || m[3] !== region) return 'SignatureDoesNotMatch';
  const signed = m[4]!.split(';');
  const headers: Record<string, string> = {};
  for (const h of signed) {
    const v = req.headers[h];
    if (v === undefined) return 'SignatureDoesNotMatch';
    headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const amzDate = headers['x-amz-date'];
  if (!amzDate) return 'SignatureDoesNotMatch';
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return 'SignatureDoesNotMatch';
  const signingDate = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  const u = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const query: Record<string, string> = {};
  u.searchParams.forEach((v, k) => (query[k] = v));
  const signer = new SignatureV4({ credentials: creds, region, service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: false });
  const out = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path: u.pathname, query, headers },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(out.headers['authorization']))?.[1];
  return expected === m[5] ? undefined : 'SignatureDoesNotMatch';
}

export async function startPrivateBucket(creds: { accessKeyId: string; secretAccessKey: string }, region = 'us-east-1', bucket = 'slides'): Promise<PrivateBucket> {
  const dir = mkdtempSync(join(tmpdir(), 'imagebox-s3-'));
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  const { port: s3port } = (await s3.run()) as AddressInfo;
  const log: PrivateBucket['log'] = [];
  let gatePort = 0;
  const gate: Server = createServer((req, res) => {
    void verify(req, gatePort, creds, region).then(
      (problem) => {
        log.push({ path: req.url ?? '/', authorized: !problem, host: req.headers.host, authorization: req.headers.authorization });
        if (problem) return s3Error(res, 403, problem, problem === 'AccessDenied' ? 'Access Denied' : 'The request signature we calculated does not match the signature you provided.');
        // forward to s3rver with its own (anonymous-read) access; Range and If-Range pass through
        const headers = { ...req.headers };
        delete headers.authorization;
        const up = httpRequest({ host: '127.0.0.1', port: s3port, method: req.method, path: req.url, headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      },
      () => s3Error(res, 500, 'InternalError', 'gate failed'),
    );
  });
  await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
  gatePort = (gate.address() as AddressInfo).port;
  const s3url = `http://127.0.0.1:${s3port}/${bucket}`;
  return {
    url: `http://127.0.0.1:${gatePort}/${bucket}`,
    log,
    async put(key: string, data: Uint8Array): Promise<void> {
      // straight to s3rver, with its built-in key (s3rver checks the key id)
      const { AwsV4Signer } = await import('aws4fetch');
      const signed = await new AwsV4Signer({ url: `${s3url}/${key}`, method: 'PUT', body: data, ...S3RVER_KEY, region, service: 's3' }).sign();
      const r = await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: data });
      if (r.status !== 200) throw new Error(`s3rver PUT ${key}: ${r.status}`);
    },
    async stop(): Promise<void> {
      gate.closeAllConnections();
      await new Promise<void>((r) => gate.close(() => r()));
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
