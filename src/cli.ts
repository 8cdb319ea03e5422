#!/usr/bin/env node
// The imagebox command.
import { isImageboxError } from './errors.js';
import { runInfo } from './cli/info.js';
import { runRegion, runTile } from './cli/pixels.js';

const USAGE = `usage: imagebox <command> [options]

  info <path|url> [--json] [--stats] [--header "Name: value"]
        describe a slide: vendor, levels, MPP, associated images, properties
  region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg [--quality 90]
        read_region as OpenSlide (x, y in level-0 pixels), written as PNG or JPEG
  tile <path|url> <level> <col> <row> -o out.png|out.jpg
        one tile; .jpg of a native JPEG tile is its stored bytes (tables spliced in)
  serve [--port 8080] [--host 0.0.0.0] [--slides DIR] [--config FILE] [--allow URL-PREFIX ...]
        IIIF Image API 3.0/2.1, DeepZoom and a JSON API over HTTP (uWebSockets.js)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'info':
      return runInfo(rest);
    case 'region':
      return runRegion(rest);
    case 'tile':
      return runTile(rest);
    case 'serve':
      return (await import('./cli/serve.js')).runServe(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`imagebox: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isImageboxError(e)) {
      process.stderr.write(`imagebox: ${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`imagebox: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
