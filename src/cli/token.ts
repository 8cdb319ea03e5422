// `imagebox token`: a signed, expiring token for one slide, a folder of slides
// or all of them, for a server started with --require-token. The secret is
// IMAGEBOX_TOKEN_SECRET (never an argument: arguments show in `ps`).
import { AccessControl, MIN_SECRET_BYTES } from '../server/access.js';
import { encodeIdentifier } from '../server/iiif/identifier.js';
import { parseCommandLine, UsageError } from './args.js';

export const TOKEN_USAGE = `usage: imagebox token (--slide ID | --folder DIR/ | --all) [--ttl 1h] [--url http://host:8080]
  prints a token signed with IMAGEBOX_TOKEN_SECRET; with --url, the links that carry it
  --ttl: seconds, or with a unit: 90s, 30m, 12h, 7d (default 1h; at most 366d)
`;

/** The access control of a server started with --require-token, or a UsageError. */
export function accessFromEnv(usage: string): AccessControl {
  const secret = process.env['IMAGEBOX_TOKEN_SECRET'];
  if (secret === undefined || secret === '') throw new UsageError('--require-token needs IMAGEBOX_TOKEN_SECRET in the environment', usage);
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new UsageError(`IMAGEBOX_TOKEN_SECRET must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`, usage);
  return new AccessControl(secret);
}

/** "3600" | "90s" | "30m" | "12h" | "7d" -> seconds. */
export function parseTtl(s: string): number | undefined {
  const m = /^(\d{1,9})([smhd]?)$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return n > 0 && n <= 366 * 86400 ? n : undefined;
}

export async function runToken(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(TOKEN_USAGE);
    return 0;
  }
  const { values: v, positionals } = parseCommandLine(
    argv,
    { slide: { type: 'string' }, folder: { type: 'string' }, all: { type: 'boolean' }, ttl: { type: 'string' }, url: { type: 'string' } },
    TOKEN_USAGE,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]!.slice(0, 64)}`, TOKEN_USAGE);
  const slide = v['slide'] as string | undefined;
  const folder = v['folder'] as string | undefined;
  const scopes = [slide, folder, v['all'] === true ? '*' : undefined].filter((x) => x !== undefined);
  if (scopes.length !== 1) throw new UsageError('name exactly one of --slide ID, --folder DIR/ or --all', TOKEN_USAGE);
  if (folder !== undefined && (!folder.endsWith('/') || folder === '/')) throw new UsageError('--folder must end with "/" (e.g. --folder case-42/)', TOKEN_USAGE);
  if (slide !== undefined && (slide === '' || slide === '*' || slide.endsWith('/'))) throw new UsageError('--slide takes one slide id', TOKEN_USAGE);
  const ttl = parseTtl((v['ttl'] as string | undefined) ?? '1h');
  if (ttl === undefined) throw new UsageError('--ttl must be seconds or 90s, 30m, 12h, 7d (at most 366d)', TOKEN_USAGE);
  const access = accessFromEnv(TOKEN_USAGE);
  const token = await access.sign(scopes[0]!, ttl);
  const url = (v['url'] as string | undefined)?.replace(/\/+$/, '');
  if (url === undefined) {
    process.stdout.write(`${token}\n`);
    return 0;
  }
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError('--url must be the server as clients reach it, e.g. http://localhost:8080', TOKEN_USAGE);
  const base = `${url}/t/${token}`;
  const lines = [`token     ${token}`, `expires   ${new Date((Math.floor(Date.now() / 1000) + ttl) * 1000).toISOString()}`];
  if (slide !== undefined) {
    const e = encodeIdentifier(slide);
    lines.push(`viewer    ${base}/view/${slide.split('/').map(encodeURIComponent).join('/')}`, `iiif      ${base}/iiif/3/${e}/info.json`, `deepzoom  ${base}/dzi/${e}.dzi`, `json      ${base}/slides/${e}`);
  } else {
    lines.push(`slides    ${base}/slides`, `iiif      ${base}/iiif/3/{id}/info.json`, `viewer    ${base}/view/{id}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
