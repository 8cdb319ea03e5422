// --header 'Name: value' options -> a header record (values may name an
// environment variable as ${VAR}, so secrets stay out of shell history).
import { ImageboxError } from '../errors.js';

export function parseHeaders(list: string[] | undefined, env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new ImageboxError('E_BAD_REQUEST', `--header needs "Name: value", got "${h}"`);
    const name = h.slice(0, i).trim();
    const value = h.slice(i + 1).trim().replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => {
      const s = env[v];
      if (s === undefined) throw new ImageboxError('E_BAD_REQUEST', `environment variable ${v} is not set`);
      return s;
    });
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ImageboxError('E_BAD_REQUEST', `bad header name "${name}"`);
    out[name] = value;
  }
  return out;
}
