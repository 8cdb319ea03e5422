// What a stream session needs from the server it runs in, as an interface so
// that the stream room depends on no server code: slides by id (with their
// change detection), decoding in the pixel workers (shared fairly between
// connections), the shared decoded-tile cache and the metrics.
import type { EncodedTile } from '../contracts/tile.js';
import type { Slide } from '../slide/slide.js';
import type { SlideInfo } from './protocol.js';
import type { ChannelDisplay } from '../slide/channels.js';

/** Which bytes of which slide a tile came from: the id, the version (validator), and what a worker needs to open it. */
export interface SlideRef {
  id: string;
  version: string | undefined;
  /** Opaque to the stream: handed back to the host for worker jobs. */
  spec: unknown;
}

export interface OpenedSlide {
  info: Omit<SlideInfo, 'type' | 'requestId' | 'handle' | 'changed'>;
  ref: SlideRef;
}

/** A tile's pixels as sent: RGBA of its valid part, or a complete JPEG stream. */
export interface TilePayload {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface StreamCounters {
  tilesPushed: Record<string, number>;
  bytesPushed: number;
  prefetchPushed: number;
  prefetchUsed: number;
  prefetchWasted: number;
  cancelled: number;
  tileErrors: number;
  viewsDone: number;
  /** Origin requests made by stream reads, and tiles those reads brought. */
  originRequests: number;
  tilesRead: number;
}

export interface StreamHost {
  /** Resolve and open a slide id (E_NOT_FOUND, E_FORBIDDEN, E_NOT_A_SLIDE ... as for IIIF). */
  open(id: string): Promise<OpenedSlide>;
  /** Run `fn` on the slide's current bytes (a change found meanwhile reopens it and runs `fn` once more). */
  use<T>(id: string, fn: (slide: Slide, ref: SlideRef, info: OpenedSlide['info']) => Promise<T>): Promise<T>;
  /** Decode a stored tile in a pixel worker (round-robin between owners): RGBA of its valid part, or a JPEG of it. `wanted`: asked when its turn comes (false: skipped, E_ABORTED). */
  decode(owner: object, tile: EncodedTile, ref: SlideRef, format: 'rgba' | 'jpeg', wanted?: () => boolean): Promise<TilePayload>;
  /** Render a tile that cannot be decoded alone (an Aperio missing tile re-rendered from the level above). */
  render(owner: object, ref: SlideRef, level: number, col: number, row: number, format: 'rgba' | 'jpeg', display?: ChannelDisplay, wanted?: () => boolean): Promise<TilePayload>;
  /** The shared, byte-bounded cache of decoded tiles. */
  cached(ref: SlideRef, key: number): TilePayload | undefined;
  remember(ref: SlideRef, key: number, p: TilePayload): void;
  /** An owner went away: its queued decodes are dropped. */
  forget(owner: object): void;
  /**
   * Be told the id of every slide whose bytes were found changed (by any reader:
   * another connection, an IIIF request), so a connection holding it looks again
   * at once instead of at its next read. Returns an unsubscribe.
   */
  onSlideChanged?(listener: (id: string) => void): () => void;
  /** Sessions report what they hold (frames waiting + socket backlog), so all of them together stay under a bound. */
  register(s: { heldBytes(): number }): () => void;
  /** Bytes held by every registered session now. */
  heldBytes(): number;
  /** The bound on that sum. */
  readonly maxHeldBytes: number;
  readonly counters: StreamCounters;
}

export function newCounters(): StreamCounters {
  return {
    tilesPushed: {},
    bytesPushed: 0,
    prefetchPushed: 0,
    prefetchUsed: 0,
    prefetchWasted: 0,
    cancelled: 0,
    tileErrors: 0,
    viewsDone: 0,
    originRequests: 0,
    tilesRead: 0,
  };
}
