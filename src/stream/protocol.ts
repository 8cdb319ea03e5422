// imagebox.v1: the WebSocket tile stream, one binary message per frame.
// Specified in docs/protocol.md; this module is the only implementation, used
// by the server, the Node client and the browser. Isomorphic (DataView,
// TextEncoder), no dependencies.
//
// Every frame starts with an 8-byte header, little-endian:
//   u8 type | u8 version (1) | u16 flags | u32 id (request id or view sequence)
// Hot frames (VIEW, TILE, VIEW_DONE, CANCEL, CLOSE) have fixed binary bodies;
// rare ones (HELLO, OPEN, WELCOME, SLIDE, ERROR, STATS) carry UTF-8 JSON.
import type { ChannelDisplay, ChannelInfo } from '../slide/channels.js';
import type { Level } from '../slide/types.js';
import { ImageboxError, type ErrorCode } from '../errors.js';

export const PROTOCOL = 'imagebox.v1';
export const VERSION = 1;
export const HEADER_BYTES = 8;

export const MessageType = {
  // client -> server
  Hello: 0x01,
  Open: 0x02,
  View: 0x03,
  Cancel: 0x04,
  Close: 0x05,
  StatsRequest: 0x06,
  // server -> client
  Welcome: 0x81,
  Slide: 0x82,
  Tile: 0x83,
  ViewDone: 0x84,
  Error: 0x85,
  Stats: 0x86,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Tile payload encodings (TILE frame byte 16). */
export const Encoding = { rgba: 0, jpeg: 1 } as const;
export type EncodingName = keyof typeof Encoding;
/** What a client may ask for: the two payloads, or 'auto' (the server picks per connection). */
/**
 * What a client asks for: one encoding for every tile, `auto` (rgba while the
 * link keeps up, else jpeg), or `passthrough` (JPEG tiles as stored, no decode
 * on the server; the others as `auto`).
 */
export type EncodingChoice = EncodingName | 'auto' | 'passthrough';

/** TILE frame flags (header u16). */
export const TileFlag = {
  /** Sent ahead of any view that shows it. */
  Prefetched: 1 << 0,
  /** No pixels at this tile (a missing tile at level 0): transparent, no payload. */
  Missing: 1 << 1,
  /** Decoded and re-encoded on the server (the stored tile is not JPEG, or was re-rendered). */
  Transcoded: 1 << 2,
};

/** VIEW_DONE flags. */
export const ViewDoneFlag = {
  /** Every visible tile of the view had been sent before (nothing new was needed). */
  AllCached: 1 << 0,
};

// ---- the messages ---------------------------------------------------------------

export interface Hello {
  type: typeof MessageType.Hello;
  protocol: string;
  /** In order of preference; the server uses the first it can. */
  encodings: EncodingChoice[];
  /** Bytes the server may have in flight to this client before waiting (the server caps it). */
  inFlightBytes?: number;
  client?: string;
}

export interface Open {
  type: typeof MessageType.Open;
  requestId: number;
  /** The identifier /iiif/3/{id} takes (percent-decoded). */
  slide: string;
  /** Multi-channel slides: the channels to composite into the tiles of this handle (default: the slide's default display). */
  channels?: ChannelDisplay;
}

export interface View {
  type: typeof MessageType.View;
  /** Increasing per connection: the newest view wins. */
  seq: number;
  handle: number;
  level: number;
  /** Rectangle in that level's pixels (may overhang the level). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Motion in level pixels per second; NaN when not given (the server derives it from successive views). */
  vx: number;
  vy: number;
}

export interface Cancel {
  type: typeof MessageType.Cancel;
  /** Drop every queued tile of this slide handle (0: of every handle). */
  handle: number;
}

export interface Close {
  type: typeof MessageType.Close;
  handle: number;
}

export interface StatsRequest {
  type: typeof MessageType.StatsRequest;
  requestId: number;
}

export type ClientMessage = Hello | Open | View | Cancel | Close | StatsRequest;

export interface Limits {
  maxMessageBytes: number;
  maxSlidesPerConnection: number;
  maxViewPixels: number;
  maxViewsPerSecond: number;
  idleTimeoutSeconds: number;
  inFlightBytes: number;
}

export interface Welcome {
  type: typeof MessageType.Welcome;
  protocol: string;
  version: number;
  /** The encoding the server will use ('auto': chosen per connection from the throughput it measures). */
  encoding: EncodingChoice;
  limits: Limits;
  server: string;
}

/** A level as SLIDE frames describe it: the slide model's own Level. */
export type SlideLevel = Level;

export interface SlideInfo {
  type: typeof MessageType.Slide;
  requestId: number;
  handle: number;
  id: string;
  vendor: string;
  width: number;
  height: number;
  levels: SlideLevel[];
  mppX: number | null;
  mppY: number | null;
  objectivePower: number | null;
  associated: { name: string; width: number; height: number }[];
  /** Multi-channel slides: the channels (names, colours, types, default contrast limits); tiles are their composite. */
  channels?: ChannelInfo[];
  /** The slide's public origin URL, when it is fetched from one without credentials (direct mode may read it). */
  url?: string;
  /** Set when this replaces an earlier SLIDE for the same handle (the slide's bytes changed). */
  changed?: boolean;
  /** The ICC profile the slide's pixels are in (base64), when the slide has one (DICOM Optical Path): the viewer colour-manages with it. */
  iccProfile?: string;
}

export interface Tile {
  type: typeof MessageType.Tile;
  /** The view that asked for it (0 for a prefetch of no view in particular). */
  seq: number;
  flags: number;
  handle: number;
  level: number;
  encoding: EncodingName;
  col: number;
  row: number;
  /** The tile's valid size (edge tiles are smaller); a JPEG payload may decode larger: crop to this. */
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ViewDone {
  type: typeof MessageType.ViewDone;
  seq: number;
  flags: number;
  handle: number;
  /** Visible tiles of the view (sent now or before). */
  tiles: number;
}

export interface ErrorFrame {
  type: typeof MessageType.Error;
  /** The request it answers (OPEN), or the view seq; 0 when none. */
  id: number;
  code: ErrorCode;
  message: string;
  handle?: number;
  level?: number;
  col?: number;
  row?: number;
  /** The server closes the connection after this frame. */
  fatal?: boolean;
}

export interface Stats {
  type: typeof MessageType.Stats;
  requestId: number;
  stats: Record<string, number | string>;
}

export type ServerMessage = Welcome | SlideInfo | Tile | ViewDone | ErrorFrame | Stats;

// ---- byte layouts ---------------------------------------------------------------

/** VIEW body: u32 handle, u8 level, 3 reserved, i32 x, i32 y, u32 width, u32 height, f32 vx, f32 vy. */
export const VIEW_BODY = 32;
/** TILE body before the payload: u32 handle, u8 level, u8 encoding, u16 reserved, u32 col, u32 row, u32 width, u32 height. */
export const TILE_BODY = 24;
/** VIEW_DONE body: u32 handle, u32 tiles. */
export const VIEW_DONE_BODY = 8;
const U32_BODY = 4;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function header(buf: Uint8Array, type: number, flags: number, id: number): DataView {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint8(0, type);
  dv.setUint8(1, VERSION);
  dv.setUint16(2, flags, true);
  dv.setUint32(4, id >>> 0, true);
  return dv;
}

function jsonFrame(type: number, id: number, value: unknown): Uint8Array {
  const body = enc.encode(JSON.stringify(value));
  const buf = new Uint8Array(HEADER_BYTES + body.length);
  header(buf, type, 0, id);
  buf.set(body, HEADER_BYTES);
  return buf;
}

function u32Frame(type: number, id: number, value: number): Uint8Array {
  const buf = new Uint8Array(HEADER_BYTES + U32_BODY);
  header(buf, type, 0, id).setUint32(HEADER_BYTES, value >>> 0, true);
  return buf;
}

// ---- encoding -------------------------------------------------------------------

export function encodeClientMessage(m: ClientMessage): Uint8Array {
  switch (m.type) {
    case MessageType.Hello: {
      const { type: _t, ...body } = m;
      return jsonFrame(m.type, 0, body);
    }
    case MessageType.Open:
      return jsonFrame(m.type, m.requestId, m.channels ? { slide: m.slide, channels: m.channels } : { slide: m.slide });
    case MessageType.View: {
      const buf = new Uint8Array(HEADER_BYTES + VIEW_BODY);
      const dv = header(buf, m.type, 0, m.seq);
      const o = HEADER_BYTES;
      dv.setUint32(o, m.handle >>> 0, true);
      dv.setUint8(o + 4, m.level);
      dv.setInt32(o + 8, m.x, true);
      dv.setInt32(o + 12, m.y, true);
      dv.setUint32(o + 16, m.width >>> 0, true);
      dv.setUint32(o + 20, m.height >>> 0, true);
      dv.setFloat32(o + 24, m.vx, true);
      dv.setFloat32(o + 28, m.vy, true);
      return buf;
    }
    case MessageType.Cancel:
      return u32Frame(m.type, 0, m.handle);
    case MessageType.Close:
      return u32Frame(m.type, 0, m.handle);
    case MessageType.StatsRequest:
      return u32Frame(m.type, m.requestId, 0);
  }
}

export function encodeServerMessage(m: Exclude<ServerMessage, Tile>): Uint8Array {
  switch (m.type) {
    case MessageType.Welcome:
    case MessageType.Slide: {
      const { type: _t, ...body } = m;
      return jsonFrame(m.type, m.type === MessageType.Slide ? m.requestId : 0, body);
    }
    case MessageType.ViewDone: {
      const buf = new Uint8Array(HEADER_BYTES + VIEW_DONE_BODY);
      const dv = header(buf, m.type, m.flags, m.seq);
      dv.setUint32(HEADER_BYTES, m.handle >>> 0, true);
      dv.setUint32(HEADER_BYTES + 4, m.tiles >>> 0, true);
      return buf;
    }
    case MessageType.Error: {
      const { type: _t, id, ...body } = m;
      return jsonFrame(m.type, id, body);
    }
    case MessageType.Stats:
      return jsonFrame(m.type, m.requestId, m.stats);
  }
}

/** A TILE frame with its payload copied in after the fixed body. */
export function encodeTile(t: Omit<Tile, 'type'>): Uint8Array {
  const buf = new Uint8Array(HEADER_BYTES + TILE_BODY + t.data.length);
  const dv = header(buf, MessageType.Tile, t.flags, t.seq);
  const o = HEADER_BYTES;
  dv.setUint32(o, t.handle >>> 0, true);
  dv.setUint8(o + 4, t.level);
  dv.setUint8(o + 5, Encoding[t.encoding]);
  dv.setUint32(o + 8, t.col >>> 0, true);
  dv.setUint32(o + 12, t.row >>> 0, true);
  dv.setUint32(o + 16, t.width >>> 0, true);
  dv.setUint32(o + 20, t.height >>> 0, true);
  buf.set(t.data, o + TILE_BODY);
  return buf;
}

// ---- decoding -------------------------------------------------------------------

const bad = (message: string): ImageboxError => new ImageboxError('E_BAD_REQUEST', message);

function view(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

function readHeader(b: Uint8Array): { type: number; flags: number; id: number; dv: DataView } {
  if (b.length < HEADER_BYTES) throw bad(`frame of ${b.length} bytes: shorter than the ${HEADER_BYTES}-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint8(1) !== VERSION) throw bad(`protocol version ${dv.getUint8(1)} (this server speaks ${VERSION})`);
  return { type: dv.getUint8(0), flags: dv.getUint16(2, true), id: dv.getUint32(4, true), dv };
}

function jsonBody(b: Uint8Array, maxBytes = 64 * 1024): Record<string, unknown> {
  if (b.length - HEADER_BYTES > maxBytes) throw bad('JSON body too long');
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(b.subarray(HEADER_BYTES)));
  } catch {
    throw bad('body is not UTF-8 JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('body is not a JSON object');
  return v as Record<string, unknown>;
}

function exactly(b: Uint8Array, body: number, what: string): void {
  if (b.length !== HEADER_BYTES + body) throw bad(`${what} frame of ${b.length} bytes (expected ${HEADER_BYTES + body})`);
}

const ENCODING_CHOICES: ReadonlySet<string> = new Set(['rgba', 'jpeg', 'auto', 'passthrough']);

/** Parse a frame a client sent. Anything malformed is E_BAD_REQUEST with a message that says what. */
export function decodeClientMessage(bytes: Uint8Array | ArrayBuffer): ClientMessage {
  const b = view(bytes);
  const { type, id, dv } = readHeader(b);
  switch (type) {
    case MessageType.Hello: {
      const j = jsonBody(b, 4096);
      if (j['protocol'] !== PROTOCOL) throw bad(`protocol ${JSON.stringify(j['protocol'])} (this server speaks ${PROTOCOL})`);
      const e = j['encodings'] ?? ['auto'];
      if (!Array.isArray(e) || e.length === 0 || e.length > 4 || !e.every((x) => typeof x === 'string' && ENCODING_CHOICES.has(x))) {
        throw bad('encodings must be a list of rgba, jpeg, auto');
      }
      const f = j['inFlightBytes'];
      if (f !== undefined && (typeof f !== 'number' || !Number.isFinite(f) || f <= 0)) throw bad('inFlightBytes must be a positive number');
      const client = typeof j['client'] === 'string' ? (j['client'] as string).slice(0, 128) : undefined;
      return { type, protocol: PROTOCOL, encodings: e as EncodingChoice[], inFlightBytes: f as number | undefined, client };
    }
    case MessageType.Open: {
      const j = jsonBody(b, 4096);
      const slide = j['slide'];
      if (typeof slide !== 'string' || slide.length === 0 || slide.length > 3000) throw bad('slide must be a non-empty identifier');
      const channels = j['channels'];
      if (channels === undefined) return { type, requestId: id, slide };
      return { type, requestId: id, slide, channels: channelDisplayShape(channels, bad) };
    }
    case MessageType.View: {
      exactly(b, VIEW_BODY, 'VIEW');
      const o = HEADER_BYTES;
      const m: View = {
        type,
        seq: id,
        handle: dv.getUint32(o, true),
        level: dv.getUint8(o + 4),
        x: dv.getInt32(o + 8, true),
        y: dv.getInt32(o + 12, true),
        width: dv.getUint32(o + 16, true),
        height: dv.getUint32(o + 20, true),
        vx: dv.getFloat32(o + 24, true),
        vy: dv.getFloat32(o + 28, true),
      };
      if (m.width === 0 || m.height === 0) throw bad('a view needs a width and a height');
      if (!Number.isNaN(m.vx) && !Number.isFinite(m.vx)) throw bad('motion must be finite (or NaN: unknown)');
      if (!Number.isNaN(m.vy) && !Number.isFinite(m.vy)) throw bad('motion must be finite (or NaN: unknown)');
      return m;
    }
    case MessageType.Cancel:
      exactly(b, U32_BODY, 'CANCEL');
      return { type, handle: dv.getUint32(HEADER_BYTES, true) };
    case MessageType.Close:
      exactly(b, U32_BODY, 'CLOSE');
      return { type, handle: dv.getUint32(HEADER_BYTES, true) };
    case MessageType.StatsRequest:
      exactly(b, U32_BODY, 'STATS_REQUEST');
      return { type, requestId: id };
    default:
      throw bad(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

const ENCODING_NAMES: EncodingName[] = ['rgba', 'jpeg'];

/** Parse a frame the server sent (the client side). */
export function decodeServerMessage(bytes: Uint8Array | ArrayBuffer): ServerMessage {
  const b = view(bytes);
  const { type, flags, id, dv } = readHeader(b);
  switch (type) {
    case MessageType.Welcome:
      return { type, ...(jsonBody(b) as Omit<Welcome, 'type'>) };
    case MessageType.Slide:
      return { type, ...(jsonBody(b, 16 * 1024 * 1024) as Omit<SlideInfo, 'type'>), requestId: id };
    case MessageType.Tile: {
      if (b.length < HEADER_BYTES + TILE_BODY) throw bad('TILE frame too short');
      const o = HEADER_BYTES;
      const encoding = ENCODING_NAMES[dv.getUint8(o + 5)];
      if (!encoding) throw bad(`unknown tile encoding ${dv.getUint8(o + 5)}`);
      return {
        type,
        seq: id,
        flags,
        handle: dv.getUint32(o, true),
        level: dv.getUint8(o + 4),
        encoding,
        col: dv.getUint32(o + 8, true),
        row: dv.getUint32(o + 12, true),
        width: dv.getUint32(o + 16, true),
        height: dv.getUint32(o + 20, true),
        data: b.subarray(o + TILE_BODY),
      };
    }
    case MessageType.ViewDone:
      exactly(b, VIEW_DONE_BODY, 'VIEW_DONE');
      return { type, seq: id, flags, handle: dv.getUint32(HEADER_BYTES, true), tiles: dv.getUint32(HEADER_BYTES + 4, true) };
    case MessageType.Error:
      return { type, id, ...(jsonBody(b) as Omit<ErrorFrame, 'type' | 'id'>) };
    case MessageType.Stats:
      return { type, requestId: id, stats: jsonBody(b) as Record<string, number | string> };
    default:
      throw bad(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

/** An OPEN frame's channel display, checked for shape (the session checks it against the slide). */
function channelDisplayShape(v: unknown, bad: (m: string) => Error): ChannelDisplay {
  if (!Array.isArray(v) || v.length > 8) throw bad('channels must be an array of at most 8 channel settings');
  const int = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
  return v.map((c: unknown) => {
    const o = c as { index?: unknown; color?: unknown; limits?: unknown };
    if (typeof c !== 'object' || c === null || !int(o.index, 7)) throw bad('a channel setting needs an index 0..7');
    const color = o.color;
    const limits = o.limits;
    if (!Array.isArray(color) || color.length !== 3 || !color.every((x) => int(x, 255))) throw bad('a channel colour is [r, g, b], 0..255');
    if (!Array.isArray(limits) || limits.length !== 2 || !limits.every((x) => int(x, 65535))) throw bad('channel limits are [lo, hi], integers 0..65535');
    return { index: o.index, color: [color[0], color[1], color[2]], limits: [limits[0], limits[1]] };
  });
}
