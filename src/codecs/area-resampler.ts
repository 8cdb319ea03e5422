// Area-average resampling of an image that arrives in horizontal bands (the
// rows of a region, one row of tiles at a time), so a large region is never
// held whole: memory is the output plus one band plus the few input rows that
// straddle two bands. The kernel (assembly/resample.ts resample_area_rows) is
// the whole-image one run on row ranges: the result is the same bytes as
// resizeArea() of the whole image. Isomorphic.
import { ImageboxError } from '../errors.js';
import type { BandResampler, RGBA } from '../contracts/pixels.js';
import { checkSize } from './image-ops.js';
import type { Kernels } from './kernels.js';

interface RowsExports {
  resample_area_scratch(sw: number, dw: number): number;
  resample_area_rows(
    src: number, sw: number, srcRow0: number, srcRows: number, sh: number,
    dst: number, dw: number, dh: number, oy0: number, oy1: number, scratch: number,
  ): void;
}

export class AreaResampler implements BandResampler {
  private readonly out: Uint8Array;
  private readonly sy: number;
  /** Input rows held back (they feed output rows not written yet), starting at input row carryRow0. */
  private carry: Uint8Array = new Uint8Array(0);
  private carryRow0 = 0;
  private received = 0;
  private nextOut = 0;

  constructor(
    private readonly k: Kernels,
    readonly sw: number,
    readonly sh: number,
    readonly dw: number,
    readonly dh: number,
  ) {
    checkSize(sw, sh, 'source');
    checkSize(dw, dh, 'output');
    if (dw > sw || dh > sh) throw new ImageboxError('E_INTERNAL', `area resampling shrinks: ${sw}x${sh} -> ${dw}x${dh}`);
    this.out = new Uint8Array(dw * dh * 4);
    this.sy = sh / dh;
  }

  /** The kernel's first / one-past-last input row of output row oy (same f64 arithmetic). */
  private firstRow(oy: number): number {
    return Math.floor(oy * this.sy);
  }

  private endRow(oy: number): number {
    return Math.min(this.sh, Math.ceil(Math.min((oy + 1) * this.sy, this.sh)));
  }

  /** The next `rows` input rows (full width, row-major RGBA). */
  push(band: RGBA): void {
    if (band.width !== this.sw) throw new ImageboxError('E_INTERNAL', `band of width ${band.width}, expected ${this.sw}`);
    const rows = band.height;
    if (rows <= 0) return;
    if (this.received + rows > this.sh) throw new ImageboxError('E_INTERNAL', 'more rows than the image has');
    const rowBytes = this.sw * 4;
    const held = this.received - this.carryRow0;
    const avail = this.received + rows;
    let oy1 = this.nextOut;
    while (oy1 < this.dh && this.endRow(oy1) <= avail) oy1++;
    if (oy1 === this.nextOut) {
      // nothing completes yet: hold the rows
      const grown = new Uint8Array((held + rows) * rowBytes);
      grown.set(this.carry.subarray(0, held * rowBytes));
      grown.set(band.data.subarray(0, rows * rowBytes), held * rowBytes);
      this.carry = grown;
      this.received = avail;
      return;
    }
    const x = this.k.exports as unknown as RowsExports;
    const k = this.k;
    k.exports.reset();
    const src = k.alloc((held + rows) * rowBytes);
    const mem = k.u8();
    if (held > 0) mem.set(this.carry.subarray(0, held * rowBytes), src);
    mem.set(band.data.subarray(0, rows * rowBytes), src + held * rowBytes);
    const outRows = oy1 - this.nextOut;
    const dst = k.alloc(outRows * this.dw * 4);
    const scratch = k.alloc(x.resample_area_scratch(this.sw, this.dw));
    const oy0 = this.nextOut;
    k.run(() => x.resample_area_rows(src, this.sw, this.carryRow0, held + rows, this.sh, dst, this.dw, this.dh, oy0, oy1, scratch));
    this.out.set(k.u8().subarray(dst, dst + outRows * this.dw * 4), oy0 * this.dw * 4);
    this.nextOut = oy1;
    this.received = avail;
    // keep the rows the next output row starts from
    const keepFrom = oy1 < this.dh ? this.firstRow(oy1) : avail;
    const keep = avail - keepFrom;
    const bandStart = src; // rows [carryRow0, avail) are at src
    this.carry = keep > 0 ? k.u8().slice(bandStart + (keepFrom - this.carryRow0) * rowBytes, bandStart + (avail - this.carryRow0) * rowBytes) : new Uint8Array(0);
    this.carryRow0 = keepFrom;
  }

  /** The resampled image (every input row must have been pushed). */
  finish(): RGBA {
    if (this.received !== this.sh || this.nextOut !== this.dh) {
      throw new ImageboxError('E_INTERNAL', `band resampling incomplete: ${this.received}/${this.sh} rows in, ${this.nextOut}/${this.dh} out`);
    }
    return { width: this.dw, height: this.dh, data: this.out };
  }
}
