// Human-readable `imagebox info` output.
import type { SlideDescription } from '../slide/slide.js';

export interface OpenStats {
  requests: number;
  bytesFetched: number;
  bytesRequested: number;
  wallMs: number;
}

export function formatInfo(location: string, d: SlideDescription, stats?: OpenStats): string {
  const lines: string[] = [];
  lines.push(`slide:       ${location}`);
  lines.push(`vendor:      ${d.vendor}`);
  lines.push(`dimensions:  ${d.width} x ${d.height}`);
  lines.push(`mpp:         ${d.mppX !== undefined ? `${d.mppX} x ${d.mppY}` : 'unknown'}`);
  if (d.objectivePower !== undefined) lines.push(`objective:   ${d.objectivePower}x`);
  lines.push(`levels:      ${d.levels.length}`);
  lines.push('  level       width      height   tile      downsample   tiles');
  d.levels.forEach((l, i) => {
    lines.push(
      `  ${String(i).padEnd(5)} ${String(l.width).padStart(10)}  ${String(l.height).padStart(10)}   ` +
        `${`${l.tileWidth}x${l.tileHeight}`.padEnd(9)} ${l.downsample.toFixed(4).padStart(10)}   ${l.cols}x${l.rows}`,
    );
  });
  lines.push(
    `associated:  ${d.associated.length ? d.associated.map((a) => `${a.name} (${a.width}x${a.height})`).join(', ') : 'none'}`,
  );
  for (const n of d.notes) lines.push(`note:        ${n}`);
  if (stats) {
    lines.push(
      `open:        ${stats.requests} request(s), ${stats.bytesFetched} bytes fetched ` +
        `(${stats.bytesRequested} asked for), ${stats.wallMs.toFixed(1)} ms`,
    );
  }
  lines.push('properties:');
  for (const k of Object.keys(d.properties).sort()) {
    lines.push(`  ${k} = ${JSON.stringify(d.properties[k])}`);
  }
  return lines.join('\n');
}
