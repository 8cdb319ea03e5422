// --header 'Name: value' options -> a header record (values may name an
// environment variable as ${VAR}, so secrets stay out of shell history).
import { ImageboxError } from '../errors.js';
import { expandEnv } from '../node/env.js';

export function parseHeaders(list: string[] | undefined, env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new ImageboxError('E_BAD_REQUEST', `--header needs "Name: value", got "${h}"`);
    const name = h.slice(0, i).trim();
    const value = expandEnv(h.slice(i + 1).trim(), env, '--header');
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ImageboxError('E_BAD_REQUEST', `bad header name "${name}"`);
    out[name] = value;
  }
  return out;
}
