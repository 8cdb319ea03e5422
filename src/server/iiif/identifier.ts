// IIIF identifiers arrive percent-encoded in one path segment. Decode them
// safely: bounded length, valid escapes, no control characters, no path
// games (".." or "." segments, backslashes, leading "/"). The registry checks
// containment again; this is the first fence.
import { badRequest } from '../http-error.js';

export const MAX_IDENTIFIER_BYTES = 1024;

export function decodeIdentifier(raw: string): string {
  if (raw.length === 0) throw badRequest('empty identifier');
  if (raw.length > MAX_IDENTIFIER_BYTES * 3) throw badRequest('identifier too long');
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw badRequest('identifier has bad percent-encoding');
  }
  if (Buffer.byteLength(id) > MAX_IDENTIFIER_BYTES) throw badRequest('identifier too long');
  checkIdentifier(id);
  return id;
}

/** Throws unless a (decoded) identifier is safe to look up. */
export function checkIdentifier(id: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) throw badRequest('identifier has control characters');
  if (id.includes('\\')) throw badRequest('identifier has a backslash');
  if (id.startsWith('/')) throw badRequest('identifier starts with "/"');
  if (id.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')) throw badRequest('identifier has an empty, "." or ".." segment');
}

/** The identifier as it goes back into a URL (one path segment). */
export function encodeIdentifier(id: string): string {
  return encodeURIComponent(id);
}
