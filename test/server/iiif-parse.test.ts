// IIIF request syntax and planning, from the Image API 3.0 and 2.1 specifications.
import { describe, expect, it } from 'vitest';
import { isImageboxError } from '../../src/errors.js';
import { checkIdentifier, decodeIdentifier } from '../../src/server/iiif/identifier.js';
import { infoJson2, infoJson3, tileSets } from '../../src/server/iiif/info.js';
import { bestLevel, planImage, type Limits, type PlanImage } from '../../src/server/iiif/plan.js';
import { parseImageRequest, type IiifVersion } from '../../src/server/iiif/request.js';

// The spec's example image: 300 x 200 (3.0 §4 figures), one level.
const EX: PlanImage = { width: 300, height: 200, levels: [{ width: 300, height: 200, tileWidth: 256, tileHeight: 256, downsample: 1 }] };
// A pyramid like aperio-jpeg.svs: 8000x6000, downsamples 1, 4, 16.
const SVS: PlanImage = {
  width: 8000,
  height: 6000,
  levels: [
    { width: 8000, height: 6000, tileWidth: 256, tileHeight: 256, downsample: 1 },
    { width: 2000, height: 1500, tileWidth: 256, tileHeight: 256, downsample: 4 },
    { width: 500, height: 375, tileWidth: 256, tileHeight: 256, downsample: 16 },
  ],
};
const BIG: Limits = { maxWidth: 10000, maxHeight: 10000, maxArea: 1e8 };

function plan(path: string, img: PlanImage = EX, version: IiifVersion = 3, lim: Limits = BIG) {
  const p = path.split('/') as [string, string, string, string];
  return planImage(parseImageRequest(version, p, ['jpg', 'png']), img, lim);
}

function status(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (isImageboxError(e)) return e.status;
    throw e;
  }
  return 200;
}

describe('IIIF 3.0 region', () => {
  it('full', () => expect(plan('full/max/0/default.jpg').region).toEqual({ x: 0, y: 0, w: 300, h: 200 }));
  it('square is the centred shorter side', () => expect(plan('square/max/0/default.jpg').region).toEqual({ x: 50, y: 0, w: 200, h: 200 }));
  it('x,y,w,h', () => expect(plan('125,15,120,140/max/0/default.jpg').region).toEqual({ x: 125, y: 15, w: 120, h: 140 }));
  it('pct:x,y,w,h', () => expect(plan('pct:41.6,7.5,40,70/max/0/default.jpg').region).toEqual({ x: 125, y: 15, w: 120, h: 140 }));
  it('a region past the edge is cropped', () => expect(plan('125,15,200,200/max/0/default.jpg').region).toEqual({ x: 125, y: 15, w: 175, h: 185 }));
  it('a region outside the image is 400', () => expect(status(() => plan('300,0,10,10/max/0/default.jpg'))).toBe(400));
  it('zero width is 400', () => expect(status(() => plan('0,0,0,10/max/0/default.jpg'))).toBe(400));
  it('pct zero height is 400', () => expect(status(() => plan('pct:0,0,10,0/max/0/default.jpg'))).toBe(400));
  for (const bad of ['', 'fullx', '1,2,3', '1,2,3,4,5', '-1,0,10,10', '1.5,0,10,10', 'pct:a,0,1,1', 'pct:+1,0,1,1', '1e2,0,1,1', 'Full'])
    it(`region "${bad}" is 400`, () => expect(status(() => plan(`${bad}/max/0/default.jpg`))).toBe(400));
});

describe('IIIF 3.0 size', () => {
  const size = (s: string, img = EX) => {
    const p = plan(`full/${s}/0/default.jpg`, img);
    return [p.width, p.height];
  };
  it('max', () => expect(size('max')).toEqual([300, 200]));
  it('max respects maxWidth', () => {
    const p = plan('full/max/0/default.jpg', EX, 3, { maxWidth: 200, maxHeight: 200, maxArea: 1e9 });
    expect([p.width, p.height]).toEqual([200, 133]);
    expect(p.canonical).toBe('full/max/0/default.jpg');
  });
  it('^max upscales to the limits', () => {
    const p = plan('full/^max/0/default.jpg', EX, 3, { maxWidth: 360, maxHeight: 360, maxArea: 1e9 });
    expect([p.width, p.height]).toEqual([360, 240]);
    expect(p.canonical).toBe('full/^max/0/default.jpg');
  });
  it('w,', () => expect(size('150,')).toEqual([150, 100]));
  it('^w,', () => expect(size('^360,')).toEqual([360, 240]));
  it(',h', () => expect(size(',150')).toEqual([225, 150]));
  it('^,h', () => expect(size('^,240')).toEqual([360, 240]));
  it('pct:n', () => expect(size('pct:50')).toEqual([150, 100]));
  it('^pct:n', () => expect(size('^pct:120')).toEqual([360, 240]));
  it('w,h distorts', () => expect(size('225,100')).toEqual([225, 100]));
  it('^w,h', () => expect(size('^360,360')).toEqual([360, 360]));
  it('!w,h fits (spec example: 150x100)', () => expect(size('!225,100')).toEqual([150, 100]));
  it('^!w,h (spec example: 360x240)', () => expect(size('^!360,360')).toEqual([360, 240]));
  it('!w,h whose best fit is larger than the region is 400 without ^ (validator size_noup)', () => expect(status(() => size('!1000,1000'))).toBe(400));
  it('!w,h exactly the region is not upscaling', () => expect(size('!300,250')).toEqual([300, 200]));
  it('percent-encoded ^ and !', () => {
    expect(size('%5E360,')).toEqual([360, 240]);
    expect(size('%21225,100')).toEqual([150, 100]);
  });
  for (const up of ['301,', ',201', 'pct:101', '301,200', '300,201'])
    it(`${up} upscales without ^: 400`, () => expect(status(() => size(up))).toBe(400));
  for (const bad of ['full', '0,', ',0', '0,0', 'pct:0', ',', '!,100', '!100,', 'pct:-1', 'abc', '^', '1,2,3', '^^max', '10.5,'])
    it(`size "${bad}" is 400`, () => expect(status(() => size(bad))).toBe(400));
  it('a size over maxWidth is 400', () => expect(status(() => plan('full/^2000,/0/default.jpg', EX, 3, { maxWidth: 1000, maxHeight: 1000, maxArea: 1e9 }))).toBe(400));
  it('a size over maxArea is 400', () => expect(status(() => plan('full/300,200/0/default.jpg', EX, 3, { maxWidth: 1000, maxHeight: 1000, maxArea: 50000 }))).toBe(400));
  it('a size rounding to 0 px is 400', () => expect(status(() => size('pct:0.1'))).toBe(400));
});

describe('IIIF 3.0 rotation, quality, format', () => {
  it('rotation 90 swaps the output size', () => {
    const p = plan('full/150,100/90/default.jpg');
    expect([p.outWidth, p.outHeight, p.rotation, p.mirror]).toEqual([100, 150, 90, false]);
  });
  it('!0 mirrors', () => expect(plan('full/max/!0/default.jpg').mirror).toBe(true));
  it('!270', () => expect(plan('full/max/!270/default.jpg')).toMatchObject({ rotation: 270, mirror: true }));
  it('360 is 0', () => expect(plan('full/max/360/default.jpg').rotation).toBe(0));
  it('90.0 is 90', () => expect(plan('full/max/90.0/default.jpg').rotation).toBe(90));
  for (const bad of ['22.5', '361', '-90', 'x', '!', '!!90', '+90'])
    it(`rotation "${bad}" is 400 in 3.0`, () => expect(status(() => plan(`full/max/${bad}/default.jpg`))).toBe(400));
  for (const q of ['default', 'color', 'gray', 'bitonal']) it(`quality ${q}`, () => expect(plan(`full/max/0/${q}.png`).quality).toBe(q));
  for (const bad of ['grey', 'Default', 'native', ''])
    it(`quality "${bad}" is 400`, () => expect(status(() => plan(`full/max/0/${bad}.jpg`))).toBe(400));
  for (const bad of ['default.tif', 'default.gif', 'default.jpeg', 'default', 'default.', 'default.JPG'])
    it(`"${bad}" is 400 in 3.0`, () => expect(status(() => plan(`full/max/0/${bad}`))).toBe(400));
});

describe('IIIF 2.1', () => {
  const p2 = (s: string, img = EX) => plan(s, img, 2);
  it('size full', () => expect([p2('full/full/0/default.jpg').width, p2('full/full/0/default.jpg').height]).toEqual([300, 200]));
  it('size max', () => expect(p2('full/max/0/default.jpg').width).toBe(300));
  it('w, may upscale', () => expect(p2('full/600,/0/default.jpg').height).toBe(400));
  it('pct over 100 upscales', () => expect(p2('full/pct:200/0/default.jpg').width).toBe(600));
  it('!w,h', () => expect([p2('full/!225,100/0/default.jpg').width, p2('full/!225,100/0/default.jpg').height]).toEqual([150, 100]));
  it('^ is not 2.1 syntax: 400', () => expect(status(() => p2('full/^max/0/default.jpg'))).toBe(400));
  it('arbitrary rotation is 400 (2.1 section 4.3)', () => expect(status(() => p2('full/full/22.5/default.jpg'))).toBe(400));
  it('a known unsupported format is 400 (2.1 section 4.5)', () => expect(status(() => p2('full/full/0/default.tif'))).toBe(400));
  it('!w,h may upscale in 2.1', () => expect([p2('full/!600,600/0/default.jpg').width, p2('full/!600,600/0/default.jpg').height]).toEqual([600, 400]));
  it('an unknown format is 400', () => expect(status(() => p2('full/full/0/default.xyz'))).toBe(400));
  it('canonical: full, w, and w,h', () => {
    expect(p2('full/full/0/default.jpg').canonical).toBe('full/full/0/default.jpg');
    expect(p2('full/pct:50/0/default.jpg').canonical).toBe('full/150,/0/default.jpg');
    expect(p2('full/150,50/0/default.jpg').canonical).toBe('full/150,50/0/default.jpg');
  });
});

describe('canonical form (3.0 §4.8)', () => {
  it('the whole image is full/max', () => expect(plan('0,0,300,200/300,/0/default.jpg').canonical).toBe('full/max/0/default.jpg'));
  it('square becomes x,y,w,h', () => expect(plan('square/100,/0/default.jpg').canonical).toBe('50,0,200,200/100,100/0/default.jpg'));
  it('pct becomes pixels', () => expect(plan('pct:0,0,50,50/pct:50/0/color.png').canonical).toBe('0,0,150,100/75,50/0/color.png'));
  it('upscaled sizes keep ^', () => expect(plan('full/^600,/!90/gray.jpg').canonical).toBe('full/^600,400/!90/gray.jpg'));
});

describe('level choice and passthrough', () => {
  it('best level is the coarsest with downsample <= factor', () => {
    expect(bestLevel(SVS.levels, 1)).toBe(0);
    expect(bestLevel(SVS.levels, 3.9)).toBe(0);
    expect(bestLevel(SVS.levels, 4)).toBe(1);
    expect(bestLevel(SVS.levels, 15)).toBe(1);
    expect(bestLevel(SVS.levels, 100)).toBe(2);
  });
  it('a level-0 tile passes through', () => {
    expect(plan('768,512,256,256/256,256/0/default.jpg', SVS).passthrough).toEqual({ level: 0, col: 3, row: 2 });
    expect(plan('768,512,256,256/256,/0/color.jpg', SVS).passthrough).toEqual({ level: 0, col: 3, row: 2 });
    expect(plan('768,512,256,256/max/0/default.jpg', SVS).passthrough).toEqual({ level: 0, col: 3, row: 2 });
  });
  it('a level-1 tile (scale 4) passes through', () => expect(plan('4096,3072,1024,1024/256,256/0/default.jpg', SVS).passthrough).toEqual({ level: 1, col: 4, row: 3 }));
  it('a level-2 tile (scale 16): (0,0) whole', () => expect(plan('0,0,4096,4096/256,/0/default.jpg', SVS).passthrough).toEqual({ level: 2, col: 0, row: 0 }));
  it('edge tiles (padded in the file) do not', () => {
    expect(plan('7936,0,64,256/64,256/0/default.jpg', SVS).passthrough).toBeUndefined();
    expect(plan('4096,4096,3904,1904/244,119/0/default.jpg', SVS).passthrough).toBeUndefined();
  });
  it('scale 2 (no native level) does not', () => expect(plan('0,0,512,512/256,256/0/default.jpg', SVS).passthrough).toBeUndefined());
  for (const v of ['90/default.jpg', '!0/default.jpg', '0/gray.jpg', '0/default.png'])
    it(`…/${v} does not`, () => expect(plan(`768,512,256,256/256,256/${v}`, SVS).passthrough).toBeUndefined());
  it('off the grid does not', () => expect(plan('769,512,256,256/256,256/0/default.jpg', SVS).passthrough).toBeUndefined());
});

describe('identifiers', () => {
  it('decodes percent-encoding', () => expect(decodeIdentifier('dir%2Fslide.svs')).toBe('dir/slide.svs'));
  for (const bad of ['..', '%2E%2E', 'a%2F..%2Fb', '%2Fetc%2Fpasswd', 'a%00b', '%E0%A4%A', '%zz', 'a%5Cb', 'a%2F%2Fb', '.'])
    it(`rejects ${bad}`, () => expect(status(() => decodeIdentifier(bad))).toBe(400));
  it('rejects overlong ids', () => expect(status(() => decodeIdentifier('a'.repeat(2000)))).toBe(400));
  it('accepts ordinary names', () => expect(() => checkIdentifier('CMU-1 (copy).svs')).not.toThrow());
});

describe('info.json', () => {
  const o = { id: 'http://h/iiif/3/x', limits: { maxWidth: 4096, maxHeight: 4096, maxArea: 4096 * 4096 }, formats: ['jpg', 'png'] as const };
  it('3.0 has the required properties', () => {
    const i = infoJson3(SVS, { ...o, formats: ['jpg', 'png'] });
    expect(i).toMatchObject({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: 'http://h/iiif/3/x',
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      width: 8000,
      height: 6000,
      maxWidth: 4096,
      maxHeight: 4096,
      maxArea: 4096 * 4096,
      extraQualities: ['color', 'gray', 'bitonal'],
    });
    expect(i.extraFeatures).toContain('mirroring');
    expect(i.sizes).toEqual([
      { width: 500, height: 375 },
      { width: 2000, height: 1500 },
    ]);
  });
  it('scaleFactors: the native downsamples, then powers of two until one tile', () => {
    expect(tileSets(SVS)).toEqual([{ width: 256, height: 256, scaleFactors: [1, 4, 16, 32] }]);
  });
  it('2.1 has @id and a profile array', () => {
    const i = infoJson2(SVS, { ...o, formats: ['jpg', 'png'] });
    expect(i['@context']).toBe('http://iiif.io/api/image/2/context.json');
    expect(i['@id']).toBe('http://h/iiif/3/x');
    const profile = i.profile as [string, { formats: string[]; qualities: string[]; supports: string[] }];
    expect(profile[0]).toBe('http://iiif.io/api/image/2/level2.json');
    expect(profile[1].formats).toEqual(['jpg', 'png']);
    expect(profile[1].qualities).toEqual(['default', 'color', 'gray', 'bitonal']);
  });
});
