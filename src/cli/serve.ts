// `imagebox serve [--port 8080] [--host 0.0.0.0] [--slides DIR] [--config FILE]
//                 [--allow URL-PREFIX ...] [--base-url URL] [--workers N]`
// With neither --slides nor --config, serves the bundled samples/ directory.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ImageboxError } from '../errors.js';
import { loadConfig, type RegistryOptions } from '../server/registry.js';
import { startServer } from '../server/serve.js';

export const SERVE_USAGE = `usage: imagebox serve [--port 8080] [--host 0.0.0.0] [--slides DIR] [--config FILE]
                     [--allow URL-PREFIX ...] [--base-url URL] [--trust-proxy] [--workers N] [--cache-mb 256]
`;

/** The project root (dist/cli/serve.js or src/cli/serve.ts -> ../../). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeArgs {
  port: number;
  host: string;
  slides: string | undefined;
  config: string | undefined;
  allow: string[];
  baseUrl: string | undefined;
  trustProxy: boolean;
  workers: number | undefined;
  cacheMb: number;
}

export function parseServeArgs(argv: string[]): ServeArgs {
  const a: ServeArgs = { port: 8080, host: '0.0.0.0', slides: undefined, config: undefined, allow: [], baseUrl: undefined, trustProxy: false, workers: undefined, cacheMb: 256 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ImageboxError('E_BAD_REQUEST', `${name} needs a value`);
      return v;
    };
    const int = (v: string, min: number, max: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new ImageboxError('E_BAD_REQUEST', `${name} ${v}: expected an integer ${min}..${max}`);
      return n;
    };
    switch (name) {
      case '--port':
        a.port = int(value(), 0, 65535);
        break;
      case '--host':
        a.host = value();
        break;
      case '--slides':
        a.slides = value();
        break;
      case '--config':
        a.config = value();
        break;
      case '--allow':
        a.allow.push(value());
        break;
      case '--base-url':
        a.baseUrl = value();
        break;
      case '--trust-proxy':
        a.trustProxy = true;
        break;
      case '--workers':
        a.workers = int(value(), 1, 256);
        break;
      case '--cache-mb':
        a.cacheMb = int(value(), 0, 1 << 20);
        break;
      default:
        throw new ImageboxError('E_BAD_REQUEST', `serve: unknown option ${flag}\n${SERVE_USAGE}`);
    }
  }
  return a;
}

export async function runServe(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  const a = parseServeArgs(argv);
  const registry: RegistryOptions = { allow: a.allow };
  if (a.config) Object.assign(registry, await loadConfig(a.config));
  registry.slidesDir = a.slides ?? (a.config ? undefined : `${ROOT}samples`);
  const web = `${ROOT}web`;
  const osd = `${ROOT}node_modules/openseadragon/build/openseadragon`;
  const server = await startServer({
    registry,
    host: a.host,
    port: a.port,
    baseUrl: a.baseUrl,
    trustProxy: a.trustProxy,
    webDir: existsSync(web) ? web : undefined,
    osdDir: existsSync(osd) ? osd : undefined,
    pixels: { size: a.workers },
    images: { cacheBytes: a.cacheMb * 1024 * 1024 },
    onError: (e, req) => process.stderr.write(`imagebox: ${req.method} ${req.path.slice(0, 200)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
  });
  process.stdout.write(`imagebox: serving on ${server.url} (IIIF at /iiif/3/, DeepZoom at /dzi/, slides at /slides)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
