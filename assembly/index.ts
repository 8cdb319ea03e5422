// The WASM kernel module: one module, the same bytes in Node and in the browser.
// Every export is a plain function over linear memory; callers own the buffers
// (see src/codecs/kernels.ts). Kernels arrive one file each (jpeg/, lzw.ts, ...).

export { version, alloc, reset } from "./memory";
export { lzw_decode, lzw_status } from "./lzw";
export { predictor2_u8, predictor2_u16 } from "./predictor";
export { ycbcr_planar_rgba, ycbcr_interleaved_rgba, samples_rgba } from "./color";
export { resample_area, resample_area_rows, area_first_row, area_end_row, resample_area_scratch, resample_bilinear, resample_bilinear_scratch } from "./resample";
export { fill_u32, compose_copy } from "./compose";
export { rotate_rgba, mirror_rgba } from "./orient";
export { grey_rgba, bitonal_rgba } from "./quality";
export { jpegReadHeader as jpeg_read_header, jpegDecode as jpeg_decode, jpegWidth as jpeg_width, jpegHeight as jpeg_height, jpegComponents as jpeg_components, jpegSampling as jpeg_sampling, jpegComponentId as jpeg_component_id, jpegColorHints as jpeg_color_hints, jpegRestartInterval as jpeg_restart_interval, jpegSetSimd as jpeg_set_simd } from "./jpeg/decoder";
export { jpeg_encode } from "./jpeg-encode/encoder";
