// Ad-hoc slide URLs may not lead the server into its own network: a name that
// resolves to a loopback, private or link-local address is refused at connect
// time (403 E_FORBIDDEN, nothing sent), even under an --allow prefix that names
// it; a private address is reachable only as the IP literal a prefix names.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../src/io/address-guard.js';
import { encodeRemoteId } from '../../src/server/registry.js';
import { Origin } from '../helpers/origin.js';
import { FIXTURES, start, type StartedServer } from './helpers.js';

let origin: Origin;
let s: StartedServer;
let port = 0;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.put('/slides/a.svs', new Uint8Array(readFileSync(`${FIXTURES}/aperio-jpeg.svs`)));
  port = Number(new URL(origin.base).port);
  s = await start({ registry: { slidesDir: FIXTURES, allow: [`http://localhost:${port}/slides/`, `http://127.0.0.1:${port}/slides/`] } });
});
afterAll(async () => {
  await s?.close();
  await origin?.stop();
});

describe('ad-hoc slide URLs reach public addresses only', () => {
  it('a name resolving to loopback (localhost, through the real resolver) is refused with 403 E_FORBIDDEN and nothing reaches the origin', async () => {
    origin.resetCounters();
    const r = await fetch(`${s.url}/iiif/3/${encodeRemoteId(`http://localhost:${port}/slides/a.svs`)}/info.json`);
    expect(r.status).toBe(403);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('E_FORBIDDEN');
    expect(body.error.message).toMatch(/not a public address/);
    expect(origin.requests).toBe(0);
  });

  it('the IP literal an --allow prefix names itself is reachable (an explicit choice of the operator)', async () => {
    const r = await fetch(`${s.url}/iiif/3/${encodeRemoteId(`http://127.0.0.1:${port}/slides/a.svs`)}/info.json`);
    expect(r.status).toBe(200);
  });

  it('which addresses count as public', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect(isPublicAddress(ip), ip).toBe(true);
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::2', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', 'not-an-ip']) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
  });
});
