// Drawing tiles: WebGL2 (one texture per tile, one quad each, alpha blended
// for overlays), or Canvas 2D where WebGL2 is not available. Quads are in
// device pixels with edges computed from the same numbers for neighbouring
// tiles, so there are no seams between them.

export interface TileImage {
  width: number;
  height: number;
  /** Straight RGBA, width * height * 4 bytes. */
  rgba?: Uint8Array;
  /** Or an already decoded image. */
  bitmap?: ImageBitmap;
}

export interface Texture {
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
}

export interface Quad {
  tex: Texture;
  /** Device pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  alpha: number;
  /** The part of the texture to draw (0..1; a coarser tile drawn under a finer one uses part of it). */
  u0: number;
  v0: number;
  u1: number;
  v1: number;
}

export interface Renderer {
  readonly kind: 'webgl2' | '2d';
  /** Canvas size in device pixels. */
  resize(width: number, height: number): void;
  upload(img: TileImage): Texture;
  release(t: Texture): void;
  draw(quads: readonly Quad[], background: readonly [number, number, number]): void;
  /** RGBA of what was drawn last (device pixels, top row first). */
  read(): { width: number; height: number; data: Uint8Array };
  /** A texture about to be drawn at `scale` (screen px per texture px): get ready for it (Canvas 2D makes its smaller copy now, off the main thread). */
  prepare?(t: Texture, scale: number): void;
}

// ---- WebGL2 -----------------------------------------------------------------------------

const VS = `#version 300 es
in vec2 pos;
in vec2 uv;
uniform vec2 size;
out vec2 tc;
void main() {
  tc = uv;
  gl_Position = vec4(pos.x / size.x * 2.0 - 1.0, 1.0 - pos.y / size.y * 2.0, 0.0, 1.0);
}`;
const FS = `#version 300 es
precision mediump float;
in vec2 tc;
uniform sampler2D tex;
uniform float alpha;
out vec4 color;
void main() {
  vec4 c = texture(tex, tc);
  color = vec4(c.rgb, c.a * alpha);
}`;

class GlTexture implements Texture {
  constructor(
    readonly gl: WebGLTexture,
    readonly width: number,
    readonly height: number,
  ) {}
  get bytes(): number {
    return this.width * this.height * 4;
  }
}

/** A WebGL implemented on the CPU (Chromium's SwiftShader, Mesa's llvmpipe/softpipe). */
function isSoftware(gl: WebGL2RenderingContext): boolean {
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software/i.test(name);
}

export class WebGl2Renderer implements Renderer {
  readonly kind = 'webgl2';
  private readonly gl: WebGL2RenderingContext;
  private readonly prog: WebGLProgram;
  private readonly buf: WebGLBuffer;
  private readonly vao: WebGLVertexArrayObject;
  private readonly uSize: WebGLUniformLocation;
  private readonly uAlpha: WebGLUniformLocation;

  /**
   * WebGL2 where it is hardware accelerated (unless `force`): a software WebGL
   * (SwiftShader, llvmpipe: failIfMajorPerformanceCaveat) is read back to the
   * CPU for every composited frame, 4-5x slower than Canvas 2D there.
   */
  static create(canvas: HTMLCanvasElement, force = false): WebGl2Renderer | undefined {
    const attrs: WebGLContextAttributes = { alpha: false, antialias: false, premultipliedAlpha: false, preserveDrawingBuffer: false, failIfMajorPerformanceCaveat: !force };
    if (!force) {
      // asked on a canvas of its own: a canvas that has had a WebGL context can never have a 2D one
      const probe = document.createElement('canvas').getContext('webgl2', attrs);
      const software = !probe || isSoftware(probe);
      probe?.getExtension('WEBGL_lose_context')?.loseContext();
      if (software) return undefined;
    }
    const gl = canvas.getContext('webgl2', attrs);
    return gl ? new WebGl2Renderer(canvas, gl) : undefined;
  }

  private constructor(
    private readonly canvas: HTMLCanvasElement,
    gl: WebGL2RenderingContext,
  ) {
    this.gl = gl;
    const sh = (type: number, src: string): WebGLShader => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
      return s;
    };
    const p = gl.createProgram()!;
    gl.attachShader(p, sh(gl.VERTEX_SHADER, VS));
    gl.attachShader(p, sh(gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p)}`);
    this.prog = p;
    this.buf = gl.createBuffer()!;
    this.vao = gl.createVertexArray()!;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf);
    const aPos = gl.getAttribLocation(p, 'pos');
    const aUv = gl.getAttribLocation(p, 'uv');
    gl.enableVertexAttribArray(aPos);
    gl.vertexAttribPointer(aPos, 2, gl.FLOAT, false, 16, 0);
    gl.enableVertexAttribArray(aUv);
    gl.vertexAttribPointer(aUv, 2, gl.FLOAT, false, 16, 8);
    this.uSize = gl.getUniformLocation(p, 'size')!;
    this.uAlpha = gl.getUniformLocation(p, 'alpha')!;
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  }

  resize(width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.gl.viewport(0, 0, width, height);
  }

  upload(img: TileImage): Texture {
    const gl = this.gl;
    const t = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, t);
    if (img.bitmap) gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, img.bitmap);
    else gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, img.width, img.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, img.rgba!);
    // a tile is drawn at most ~2-4x smaller than its pixels (between levels): mipmaps keep it from aliasing
    gl.generateMipmap(gl.TEXTURE_2D);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return new GlTexture(t, img.width, img.height);
  }

  release(t: Texture): void {
    this.gl.deleteTexture((t as GlTexture).gl);
  }

  draw(quads: readonly Quad[], bg: readonly [number, number, number]): void {
    const gl = this.gl;
    gl.clearColor(bg[0] / 255, bg[1] / 255, bg[2] / 255, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.prog);
    gl.bindVertexArray(this.vao);
    gl.uniform2f(this.uSize, this.canvas.width, this.canvas.height);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf);
    const v = new Float32Array(quads.length * 24);
    quads.forEach((q, i) => {
      const x0 = q.x;
      const y0 = q.y;
      const x1 = q.x + q.w;
      const y1 = q.y + q.h;
      v.set([x0, y0, q.u0, q.v0, x1, y0, q.u1, q.v0, x0, y1, q.u0, q.v1, x0, y1, q.u0, q.v1, x1, y0, q.u1, q.v0, x1, y1, q.u1, q.v1], i * 24);
    });
    gl.bufferData(gl.ARRAY_BUFFER, v, gl.STREAM_DRAW);
    gl.activeTexture(gl.TEXTURE0);
    quads.forEach((q, i) => {
      gl.bindTexture(gl.TEXTURE_2D, (q.tex as GlTexture).gl);
      gl.uniform1f(this.uAlpha, q.alpha);
      gl.drawArrays(gl.TRIANGLES, i * 6, 6);
    });
  }

  read(): { width: number; height: number; data: Uint8Array } {
    const gl = this.gl;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    // GL rows are bottom-up
    const out = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) out.set(px.subarray((h - 1 - y) * w * 4, (h - y) * w * 4), y * w * 4);
    return { width: w, height: h, data: out };
  }
}

// ---- Canvas 2D ------------------------------------------------------------------------------

class CanvasTexture implements Texture {
  /** Half and quarter size copies (made off the main thread when first needed): index 1, 2. */
  readonly mips: (ImageBitmap | undefined)[] = [];
  private making = 0;
  released = false;
  constructor(
    readonly source: CanvasImageSource,
    readonly width: number,
    readonly height: number,
  ) {}
  get bytes(): number {
    return this.width * this.height * 4 * (1 + (this.mips[1] ? 0.25 : 0) + (this.mips[2] ? 0.0625 : 0));
  }
  /** The copy to draw at `scale` (screen px per texture px), asking for it when missing. */
  pick(scale: number, onReady: () => void): { src: CanvasImageSource; w: number; h: number } {
    const m = scale <= 0.26 ? 2 : scale <= 0.52 ? 1 : 0;
    if (m === 0) return { src: this.source, w: this.width, h: this.height };
    const have = this.mips[m];
    if (have) return { src: have, w: have.width, h: have.height };
    if (!(this.making & (1 << m)) && typeof createImageBitmap !== 'undefined') {
      this.making |= 1 << m;
      const w = Math.max(1, Math.ceil(this.width / 2 ** m));
      const h = Math.max(1, Math.ceil(this.height / 2 ** m));
      createImageBitmap(this.source as ImageBitmapSource, { resizeWidth: w, resizeHeight: h, resizeQuality: 'medium' }).then(
        (b) => {
          if (this.released) return b.close();
          this.mips[m] = b;
          onReady();
        },
        () => undefined,
      );
    }
    const lower = m === 2 ? this.mips[1] : undefined;
    return lower ? { src: lower, w: lower.width, h: lower.height } : { src: this.source, w: this.width, h: this.height };
  }
}

export class Canvas2dRenderer implements Renderer {
  readonly kind = '2d';
  private readonly ctx: CanvasRenderingContext2D;
  /** Called when something drawn could now be drawn better (a smaller copy is ready). */
  onUpdate: () => void = () => undefined;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d', { alpha: false })!;
  }

  resize(width: number, height: number): void {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
  }

  upload(img: TileImage): Texture {
    if (img.bitmap) return new CanvasTexture(img.bitmap, img.width, img.height);
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.rgba!.buffer as ArrayBuffer, img.rgba!.byteOffset, img.width * img.height * 4), img.width, img.height), 0, 0);
    return new CanvasTexture(c, img.width, img.height);
  }

  prepare(t: Texture, scale: number): void {
    (t as CanvasTexture).pick(scale, this.onUpdate);
  }

  release(t: Texture): void {
    const c = t as CanvasTexture;
    c.released = true;
    for (const m of c.mips) m?.close();
    if (typeof ImageBitmap !== 'undefined' && c.source instanceof ImageBitmap) c.source.close();
  }

  draw(quads: readonly Quad[], bg: readonly [number, number, number]): void {
    const c = this.ctx;
    c.globalAlpha = 1;
    c.fillStyle = `rgb(${bg[0]},${bg[1]},${bg[2]})`;
    c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    c.imageSmoothingEnabled = true;
    c.imageSmoothingQuality = 'low'; // bilinear, as the WebGL path ('medium' rebuilds mipmaps on every draw in Skia's software path)
    for (const q of quads) {
      c.globalAlpha = q.alpha;
      const t = q.tex as CanvasTexture;
      // drawn smaller than its pixels: from a half or quarter copy (4-16x less to filter, and no aliasing)
      const p = t.pick(q.w / ((q.u1 - q.u0) * t.width), this.onUpdate);
      c.drawImage(p.src, q.u0 * p.w, q.v0 * p.h, (q.u1 - q.u0) * p.w, (q.v1 - q.v0) * p.h, q.x, q.y, q.w, q.h);
    }
    c.globalAlpha = 1;
  }

  read(): { width: number; height: number; data: Uint8Array } {
    const d = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
    return { width: d.width, height: d.height, data: new Uint8Array(d.data.buffer) };
  }
}
