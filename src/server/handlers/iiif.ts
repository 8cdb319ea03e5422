// IIIF Image API 3.0 and 2.1: base URI redirect, info.json, image requests.
//   /iiif/{2|3}/{identifier}                -> 303 to info.json
//   /iiif/{2|3}/{identifier}/info.json
//   /iiif/{2|3}/{identifier}/{region}/{size}/{rotation}/{quality}.{format}
import type { ServerContext } from '../context.js';
import { badRequest, notFound } from '../http-error.js';
import { requireSlide } from '../access.js';
import { decodeIdentifier, encodeIdentifier } from '../iiif/identifier.js';
import { CONTEXT_3, infoJson2, infoJson3, PROFILE_2, PROFILE_3 } from '../iiif/info.js';
import { planImage } from '../iiif/plan.js';
import { canonicalChannelQuery, channelDisplay, displayKey } from '../iiif/channels.js';
import { parseImageRequest, type IiifVersion } from '../iiif/request.js';
import { baseUrl, CORS, type HttpRequest, type HttpResponse } from './types.js';

export async function iiifHandler(ctx: ServerContext, req: HttpRequest, version: IiifVersion, rest: string[], signal?: AbortSignal): Promise<HttpResponse> {
  if (rest.length === 0 || rest[0] === '') throw badRequest('missing identifier');
  const id = decodeIdentifier(rest[0]!);
  requireSlide(req.grant, id);
  const prefix = `${baseUrl(req, ctx.baseUrl, ctx.trustProxy)}/iiif/${version}/${encodeIdentifier(id)}`;
  const profileLink = `<${version === 3 ? PROFILE_3 : PROFILE_2}>;rel="profile"`;
  if (rest.length === 1 || (rest.length === 2 && rest[1] === '')) {
    await ctx.registry.resolve(id); // 404/403 before redirecting
    return { status: 303, headers: { ...CORS, Location: `${prefix}/info.json`, 'Cache-Control': 'no-cache' }, body: undefined };
  }
  if (rest.length === 2 && rest[1] === 'info.json') {
    return ctx.registry.use(id, async (entry, slide) => {
      const o = { id: prefix, limits: ctx.limits, formats: ctx.formats, rights: ctx.registry.rights };
      const info = version === 3 ? infoJson3(slide, o) : infoJson2(slide, o);
      const accept = req.headers['accept'] ?? '';
      const contentType = accept.includes('application/ld+json')
        ? `application/ld+json;profile="${version === 3 ? CONTEXT_3 : 'http://iiif.io/api/image/2/context.json'}"`
        : 'application/json';
      const etag = ctx.images.etag(entry, slide, `info${version}\n${prefix}\n${contentType}`);
      const c = ctx.images.conditional(req, slide, etag, { Link: profileLink, Vary: 'Accept' });
      if ('status' in c) return c as HttpResponse;
      return { status: 200, headers: { ...(c as Record<string, string>), 'Content-Type': contentType }, body: JSON.stringify(info) };
    });
  }
  if (rest.length !== 5) {
    // More segments than an image request has: if the tail is a valid request
    // (or info.json), the head is an identifier with an unescaped "/", which
    // names no image (404, as the validator's id_error_escapedslash expects).
    if (rest.length > 2 && rest[rest.length - 1] === 'info.json') throw notFound('no image with this identifier (a "/" inside an identifier must be escaped as %2F)');
    if (rest.length > 5) {
      parseImageRequest(version, rest.slice(-4) as [string, string, string, string], ctx.formats); // 400 if the tail is not a request either
      throw notFound('no image with this identifier (a "/" inside an identifier must be escaped as %2F)');
    }
    throw badRequest(`not a IIIF ${version === 3 ? '3.0' : '2.1'} URL: expected {identifier}/{region}/{size}/{rotation}/{quality}.{format}`);
  }
  const request = parseImageRequest(version, [rest[1]!, rest[2]!, rest[3]!, rest[4]!], ctx.formats);
  return ctx.registry.use(id, async (entry, slide) => {
    const channels = slide.channels;
    const display = channelDisplay(req.query, channels);
    // a multi-channel tile is never sent as stored (its pixels are a composite)
    const plan = { ...planImage(request, slide, ctx.limits), ...(channels ? { passthrough: undefined } : {}), ...(display ? { display } : {}) };
    const canonical = display ? `${plan.canonical}?${canonicalChannelQuery(display)}` : plan.canonical;
    const links = `<${prefix}/${canonical}>;rel="canonical", ${profileLink}`;
    // the display is part of what the response is (cache key and ETag)
    const key = display ? `iiif\n${plan.canonical}\nchannels ${displayKey(display)}` : `iiif\n${plan.canonical}`;
    return ctx.images.respond(req, entry, slide, plan, key, { Link: links }, signal);
  });
}
