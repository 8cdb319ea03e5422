#!/usr/bin/env node
// The imagebox command. Exit status: 0 done, 1 the slide or its origin failed
// (a typed error), 2 a usage error (bad arguments: one line, no stack), 70 an
// internal error (its stack only with IMAGEBOX_DEBUG=1).
import { isImageboxError } from './errors.js';
import { UsageError } from './cli/args.js';
import { runInfo } from './cli/info.js';
import { runRegion, runTile } from './cli/pixels.js';

const USAGE = `usage: imagebox <command> [options]

  info <path|url> [--json] [--stats] [--header "Name: value"]
        describe a slide: vendor, levels, MPP, associated images, properties
  region <path|url> <x> <y> <level> <width> <height> -o out.png|out.jpg [--quality 90]
        read_region as OpenSlide (x, y in level-0 pixels, may be negative), written as PNG or JPEG
  tile <path|url> <level> <col> <row> -o out.png|out.jpg
        one tile; .jpg of a native JPEG tile is its stored bytes (tables spliced in)
  serve [--port 8080] [--host 0.0.0.0] [--slides DIR] [--config FILE] [--allow URL-PREFIX ...]
        IIIF Image API 3.0/2.1, DeepZoom and a JSON API over HTTP (uWebSockets.js); serve --help
  token (--slide ID | --folder DIR/ | --all) [--ttl 1h] [--url http://host:8080]
        a signed, expiring token for a server started with --require-token (IMAGEBOX_TOKEN_SECRET)
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
    case 'token':
      return (await import('./cli/token.js')).runToken(rest);
    case 'serve':
      return (await import('./cli/serve.js')).runServe(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      (command === undefined ? process.stderr : process.stdout).write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command.slice(0, 64)}"`, USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`imagebox: ${e.message}\n${e.usage}`);
      process.exitCode = 2;
    } else if (isImageboxError(e)) {
      process.stderr.write(`imagebox: ${e.code}: ${e.message}\n`);
      process.exitCode = e.code === 'E_BAD_REQUEST' ? 2 : 1;
    } else {
      const debug = process.env['IMAGEBOX_DEBUG'] === '1';
      const msg = e instanceof Error ? (debug ? (e.stack ?? e.message) : e.message) : String(e);
      process.stderr.write(`imagebox: internal error: ${msg}${debug ? '' : ' (IMAGEBOX_DEBUG=1 prints the stack)'}\n`);
      process.exitCode = 70;
    }
  },
);
