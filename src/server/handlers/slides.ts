// The JSON API: /slides, /slides/{id}, /slides/{id}/associated/{name}[.jpg|.png]
import { ImageboxError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { badRequest } from '../http-error.js';
import { grants, requireSlide } from '../access.js';
import { decodeIdentifier, encodeIdentifier } from '../iiif/identifier.js';
import { CONTENT_TYPES } from '../images.js';
import { jobSpec } from '../job-spec.js';
import { baseUrl, CORS, json, type HttpRequest, type HttpResponse } from './types.js';

function links(base: string, id: string): Record<string, string> {
  const e = encodeIdentifier(id);
  return {
    info: `${base}/iiif/3/${e}/info.json`,
    info2: `${base}/iiif/2/${e}/info.json`,
    dzi: `${base}/dzi/${e}.dzi`,
    self: `${base}/slides/${e}`,
  };
}

export async function slidesHandler(ctx: ServerContext, req: HttpRequest, rest: string[], signal?: AbortSignal): Promise<HttpResponse> {
  const base = baseUrl(req, ctx.baseUrl, ctx.trustProxy);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) {
    // a token for one slide or folder lists what it opens
    const list = (await ctx.registry.list()).filter((e) => !req.grant || grants(req.grant, e.id));
    return json(200, {
      slides: list.map((e) => ({
        id: e.id,
        ...links(base, e.id),
        ...(e.vendor !== undefined ? { vendor: e.vendor, width: e.width, height: e.height, levels: e.levels } : {}),
        ...(e.error ? { error: e.error } : {}),
      })),
    });
  }
  const id = decodeIdentifier(rest[0]!);
  requireSlide(req.grant, id);
  if (rest.length === 1) {
    return ctx.registry.use(id, async (_entry, slide) => {
      const d = slide.describe();
      return json(200, {
        id,
        ...links(base, id),
        vendor: d.vendor,
        width: d.width,
        height: d.height,
        mppX: d.mppX ?? null,
        mppY: d.mppY ?? null,
        objectivePower: d.objectivePower ?? null,
        levels: d.levels,
        associated: d.associated.map((a) => ({ ...a, url: `${base}/slides/${encodeIdentifier(id)}/associated/${encodeURIComponent(a.name)}` })),
        ...(slide.channels ? { channels: slide.channels } : {}),
        properties: d.properties,
      });
    });
  }
  if (rest.length === 3 && rest[1] === 'associated') {
    let name: string;
    try {
      name = decodeURIComponent(rest[2]!);
    } catch {
      throw badRequest('bad percent-encoding in the associated image name');
    }
    let format: 'jpg' | 'png' = 'jpg';
    const m = /^(.*)\.(jpg|jpeg|png)$/.exec(name);
    if (m) {
      name = m[1]!;
      format = m[2] === 'png' ? 'png' : 'jpg';
    }
    const q = new URLSearchParams(req.query);
    if (q.get('format') === 'png') format = 'png';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw badRequest('bad associated image name');
    return ctx.registry.use(id, async (entry, slide) => {
      if (!slide.associatedSize(name)) throw new ImageboxError('E_NOT_FOUND', `no associated image "${name}"`);
      const etag = ctx.images.etag(entry, slide, `assoc\n${name}\n${format}`);
      const c = ctx.images.conditional(req, slide, etag, {});
      if ('status' in c) return c as HttpResponse;
      const key = `${entry.spec.location}\n${etag ?? ''}\nassoc\n${name}\n${format}`;
      const hit = ctx.images.cache.get(key);
      const img =
        hit ??
        (await ctx.images.flight.run(
          key,
          async (sig) => {
            const r = await ctx.pixels.run({ kind: 'associated', spec: jobSpec(entry, slide), name, format, jpegQuality: 90 }, sig);
            return { body: r.body, contentType: CONTENT_TYPES[format]!, path: 'transcode' as const };
          },
          signal,
        ));
      if (!hit && etag) ctx.images.cache.set(key, img);
      return { status: 200, headers: { ...(c as Record<string, string>), ...CORS, 'Content-Type': img.contentType, 'X-Tile-Path': hit ? 'cache' : 'transcode' }, body: img.body };
    });
  }
  throw new ImageboxError('E_NOT_FOUND', 'no such resource');
}
