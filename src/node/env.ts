// ${VAR} in configuration values (headers, config files) -> the process
// environment, so secrets stay out of files and shell history. A missing
// variable is an error at load time, not a silent empty secret.
import { ImageboxError } from '../errors.js';

export function expandEnv(value: string, env: Record<string, string | undefined> = process.env, where = 'config'): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw new ImageboxError('E_BAD_REQUEST', `${where}: environment variable ${name} is not set`);
    return v;
  });
}
