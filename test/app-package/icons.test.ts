import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { checkColorIcon, checkOutlineIcon } from '../../scripts/app-package/icon-checks';
import { ACCENT_COLOR, renderColorIcon, renderOutlineIcon } from '../../scripts/app-package/icon-art';

const appPackageDir = path.resolve(__dirname, '../../appPackage');
const colorBytes = fs.readFileSync(path.join(appPackageDir, 'color.png'));
const outlineBytes = fs.readFileSync(path.join(appPackageDir, 'outline.png'));

function solidPng(size: number, rgba: [number, number, number, number]): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < png.data.length; i += 4) png.data.set(rgba, i);
  return PNG.sync.write(png);
}

describe('Teams app icons', () => {
  it('has a 192x192 colour icon', () => {
    const png = PNG.sync.read(colorBytes);
    assert.deepEqual([png.width, png.height], [192, 192]);
    assert.deepEqual(checkColorIcon('color.png', colorBytes), []);
  });

  it('has a 32x32 outline icon: transparent background, white foreground only', () => {
    const png = PNG.sync.read(outlineBytes);
    assert.deepEqual([png.width, png.height], [32, 32]);
    const colours = new Set<string>();
    let transparent = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      if (png.data[i + 3] === 0) transparent++;
      else colours.add(png.data.subarray(i, i + 3).join(','));
    }
    assert.ok(transparent > 32 * 32 * 0.4, `mostly transparent (${transparent} transparent pixels)`);
    assert.deepEqual([...colours], ['255,255,255']);
    assert.deepEqual(checkOutlineIcon('outline.png', outlineBytes), []);
  });

  it('paints the colour icon background in the manifest accent colour', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(appPackageDir, 'manifest.json'), 'utf8'));
    const png = PNG.sync.read(colorBytes);
    const corner = '#' + [...png.data.subarray(0, 3)].map((c) => c.toString(16).padStart(2, '0')).join('');
    assert.equal(manifest.accentColor.toLowerCase(), ACCENT_COLOR.toLowerCase());
    assert.equal(corner, ACCENT_COLOR.toLowerCase());
  });

  it('commits exactly the pixels that scripts/generate-icons.ts draws', () => {
    assert.ok(PNG.sync.read(colorBytes).data.equals(renderColorIcon().data), 'color.png is stale');
    assert.ok(PNG.sync.read(outlineBytes).data.equals(renderOutlineIcon().data), 'outline.png is stale');
  });

  it('rejects icons of the wrong size', () => {
    assert.deepEqual(checkColorIcon('color.png', solidPng(96, [0, 0, 0, 255])), [
      'color.png: must be 192x192 pixels, is 96x96',
    ]);
    assert.ok(checkOutlineIcon('outline.png', solidPng(48, [255, 255, 255, 0]))[0].includes('must be 32x32'));
  });

  it('rejects an outline icon without transparency or in another colour', () => {
    const problems = checkOutlineIcon('outline.png', solidPng(32, [200, 0, 0, 255]));
    assert.ok(problems.some((p) => p.includes('no transparent pixels')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('pixel (0,0) is #C80000')), problems.join('\n'));
  });

  it('rejects a file that is not a PNG', () => {
    assert.match(checkColorIcon('color.png', Buffer.from('GIF89a'))[0], /^color\.png: is not a readable PNG/);
  });
});
