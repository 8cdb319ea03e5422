// AWS Signature Version 4 for private S3 (and S3-compatible) buckets, through
// aws4fetch (a kept, dependency-free signer on Web Crypto: the same in Node and
// browsers), not a hand-written one. Every request is signed as it goes out
// (its Range and If-Range included), with credentials read when signing, so
// rotated session credentials are picked up. Credentials never leave this
// module except inside the signature: HttpSource only signs requests to the
// slide's own origin, never a redirect target. Isomorphic.
import { AwsV4Signer } from 'aws4fetch';
import { ImageboxError } from '../errors.js';
import type { RequestSigner } from './http-transport.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface SigV4Options {
  /** e.g. us-east-1 */
  region: string;
  /** Default 's3'. */
  service?: string;
  /** Called for every request (default: none; see credentialsFromEnv). */
  credentials: () => AwsCredentials | undefined;
}

/** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN of an environment. */
export function credentialsFromEnv(env: Record<string, string | undefined>): AwsCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: env['AWS_SESSION_TOKEN'] || undefined };
}

export function sigV4Signer(o: SigV4Options): RequestSigner {
  const service = o.service ?? 's3';
  return async ({ method, url, headers }) => {
    const c = o.credentials();
    if (!c) throw new ImageboxError('E_FORBIDDEN', 'no AWS credentials for this slide (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set)');
    const signer = new AwsV4Signer({
      url,
      method,
      headers,
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      region: o.region,
      service,
    });
    const signed = await signer.sign();
    const out: Record<string, string> = {};
    signed.headers.forEach((v, k) => {
      out[k] = v;
    });
    return out;
  };
}
