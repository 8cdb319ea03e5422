// The slide's ICC profile as the SLIDE frame carries it (base64), for the viewer
// to colour-manage tiles with: DICOM's Optical Path ICC Profile today. Profiles
// over MAX_ICC_BYTES are left out (a scanner's profile is 3-600 KiB; the frame
// is JSON on the stream). Isomorphic.
export const MAX_ICC_BYTES = 1024 * 1024;

export function iccProfileField(icc: Uint8Array | undefined): { iccProfile?: string } {
  if (!icc || icc.length === 0 || icc.length > MAX_ICC_BYTES) return {};
  let bin = '';
  for (let i = 0; i < icc.length; i += 0x8000) bin += String.fromCharCode(...icc.subarray(i, i + 0x8000));
  return { iccProfile: btoa(bin) };
}
