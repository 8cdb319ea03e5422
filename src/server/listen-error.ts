// A failed listen, said the way an operator needs it: the errno and what it means.

/** A listen failure with the errno the operator needs (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  const why =
    e.code === 'EADDRINUSE'
      ? 'the port is in use by another process'
      : e.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : e.code === 'EADDRNOTAVAIL'
          ? 'no interface has this address'
          : e.message;
  const err = new Error(`cannot listen on ${host}:${port}: ${e.code ?? 'error'}: ${why}`) as NodeJS.ErrnoException;
  err.code = e.code;
  return err;
}
