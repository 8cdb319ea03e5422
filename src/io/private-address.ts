// The mark of a connection refused because its host is not a public address
// (address-guard.ts, Node only, sets it; HttpSource, isomorphic, reads it).

/** The error code of a refused non-public address. */
export const PRIVATE_ADDRESS = 'EIMAGEBOXPRIVATE';

/** Whether an error (or its causes) is a refused non-public address. */
export function isPrivateAddressError(e: unknown): boolean {
  for (let c: unknown = e, i = 0; c && i < 5; c = (c as { cause?: unknown }).cause, i++) {
    if ((c as { code?: unknown }).code === PRIVATE_ADDRESS) return true;
  }
  return false;
}
