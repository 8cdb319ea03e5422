// A slide's ICC profile put into each JPEG tile it sends (APP2 ICC_PROFILE
// segments after SOI, as ICC.1 Annex B says), so that the browser's own colour
// management (createImageBitmap with colorSpaceConversion 'default') turns the
// tile into the canvas's sRGB. The stored tiles are untouched; only the copy the
// viewer decodes carries the profile.

const SIG = [0x49, 0x43, 0x43, 0x5f, 0x50, 0x52, 0x4f, 0x46, 0x49, 0x4c, 0x45, 0x00]; // "ICC_PROFILE\0"
/** Profile bytes per APP2 segment: 65535 - 2 (length) - 12 (signature) - 2 (sequence, count). */
const CHUNK = 65519;

/** The APP2 segments that carry `icc` (at most 255 of them: 16 MiB). */
export function iccSegments(icc: Uint8Array): Uint8Array | undefined {
  const n = Math.ceil(icc.length / CHUNK);
  if (n === 0 || n > 255) return undefined;
  const out = new Uint8Array(icc.length + n * 18);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const part = icc.subarray(i * CHUNK, Math.min(icc.length, (i + 1) * CHUNK));
    const len = part.length + 16;
    out.set([0xff, 0xe2, len >> 8, len & 0xff, ...SIG, i + 1, n], o);
    out.set(part, o + 18);
    o += 18 + part.length;
  }
  return out;
}

/** The JPEG with the segments right after its SOI (a stream that does not start with SOI is returned as is). */
export function withIcc(jpeg: Uint8Array, segments: Uint8Array | undefined): Uint8Array {
  if (!segments || jpeg.length < 2 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const out = new Uint8Array(jpeg.length + segments.length);
  out.set(jpeg.subarray(0, 2), 0);
  out.set(segments, 2);
  out.set(jpeg.subarray(2), 2 + segments.length);
  return out;
}

/** base64 -> bytes. */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
