// Canonical Huffman codes from a JPEG table (16 counts + symbols): for every
// symbol its code (u16) and length (u8), as jcphuff/jchuff's jpeg_make_c_derived_tbl.

/** code[256] as u32: (length << 16) | code; 0 = symbol not in the table. */
export function buildCodes(bits: usize, vals: usize, out: usize): void {
  memory.fill(out, 0, 256 * 4);
  let code: u32 = 0;
  let k: usize = 0;
  for (let len: u32 = 1; len <= 16; len++) {
    const n = <i32>load<u8>(bits + <usize>(len - 1));
    for (let i = 0; i < n; i++) {
      const sym = <usize>load<u8>(vals + k);
      store<u32>(out + (sym << 2), (len << 16) | code);
      code++;
      k++;
    }
    code <<= 1;
  }
}

/** Derived tables for the four standard tables. */
export const DC_LUMA = memory.data(1024, 16);
export const AC_LUMA = memory.data(1024, 16);
export const DC_CHROMA = memory.data(1024, 16);
export const AC_CHROMA = memory.data(1024, 16);
