// Channel query parameters of IIIF image requests on multi-channel slides (an
// extension: IIIF lets a server take query parameters). Without any, `default`
// is the composite of every channel with the file's colours and the default
// contrast limits. Documented in docs/deployment.md.
//   ?channel=2                          channel 2 alone, in grey (its default limits)
//   ?channel=2&limits=100-4000          ... with this window
//   ?channels=0,2                       channels 0 and 2 composited (the others off)
//   ?channels=0,2&colors=ff0000,00ffff&limits=100-4000,0-900
//                                       ... with these colours and windows (one each, in order)
import { badRequest } from '../http-error.js';
import { checkDisplay, defaultDisplay, displayKey, greyDisplay, type ChannelDisplay, type ChannelInfo, type Rgb } from '../../slide/channels.js';

/** The query parameters this file reads. */
export const CHANNEL_PARAMS = ['channel', 'channels', 'colors', 'limits'] as const;

/** Longest query string looked at (anything longer is refused before it is parsed). */
const MAX_QUERY = 2048;

function list(v: string, what: string): string[] {
  if (v === '') return [];
  const parts = v.split(',');
  if (parts.length > 16) throw badRequest(`${what}: at most 16 entries`);
  return parts;
}

function index(s: string): number {
  if (!/^\d{1,2}$/.test(s)) throw badRequest(`channel "${s.slice(0, 16)}" is not a channel number`);
  return Number(s);
}

function color(s: string): Rgb {
  if (!/^[0-9a-fA-F]{6}$/.test(s)) throw badRequest(`colour "${s.slice(0, 16)}" is not rrggbb (hex)`);
  return [0, 2, 4].map((i) => parseInt(s.slice(i, i + 2), 16)) as Rgb;
}

function limits(s: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(s);
  if (!m) throw badRequest(`limits "${s.slice(0, 24)}" are not lo-hi (integers)`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * The channel display a request's query asks for: undefined when it names none
 * (the slide's default), 400 when it is malformed, names channels the slide does
 * not have, or asks channels of an RGB slide.
 */
export function channelDisplay(query: string, channels: readonly ChannelInfo[] | undefined): ChannelDisplay | undefined {
  if (query === '') return undefined;
  if (query.length > MAX_QUERY) throw badRequest(`query string of ${query.length} characters (at most ${MAX_QUERY})`);
  const q = new URLSearchParams(query);
  if (!CHANNEL_PARAMS.some((p) => q.has(p))) return undefined;
  for (const p of CHANNEL_PARAMS) if (q.getAll(p).length > 1) throw badRequest(`"${p}" given twice`);
  if (!channels) throw badRequest(`${CHANNEL_PARAMS.filter((p) => q.has(p)).join(', ')}: this slide has no channels`);
  const one = q.get('channel');
  const many = q.get('channels');
  const cols = q.get('colors');
  const lims = q.get('limits');
  let display: ChannelDisplay;
  if (one !== null) {
    if (many !== null || cols !== null) throw badRequest('"channel" (one channel, in grey) goes with "limits" only, not "channels" or "colors"');
    const ch = channels[index(one)];
    if (!ch) throw badRequest(`no channel ${one} (the slide has ${channels.length})`);
    display = greyDisplay(ch, lims === null ? undefined : limits(lims));
  } else {
    const all = defaultDisplay(channels);
    if (many === null) display = all;
    else display = list(many, 'channels').map((s) => {
      const d = all[index(s)];
      if (!d) throw badRequest(`no channel ${s} (the slide has ${channels.length})`);
      return d;
    });
    if (cols !== null) {
      const c = list(cols, 'colors');
      if (c.length !== display.length) throw badRequest(`${c.length} colours for ${display.length} channels`);
      c.forEach((s, i) => (display[i]!.color = color(s)));
    }
    if (lims !== null) {
      const l = list(lims, 'limits');
      if (l.length !== display.length) throw badRequest(`${l.length} contrast limits for ${display.length} channels`);
      l.forEach((s, i) => (display[i]!.limits = limits(s)));
    }
  }
  checkDisplay(display, channels); // E_BAD_REQUEST (400) when out of range
  return display;
}

/** The query of a display in canonical form (for the canonical Link): channels, colors and limits, all spelled out. */
export function canonicalChannelQuery(display: ChannelDisplay): string {
  const hex = (c: Rgb) => c.map((v) => v.toString(16).padStart(2, '0')).join('');
  return `channels=${display.map((d) => d.index).join(',')}&colors=${display.map((d) => hex(d.color)).join(',')}&limits=${display.map((d) => `${d.limits[0]}-${d.limits[1]}`).join(',')}`;
}

export { displayKey };
