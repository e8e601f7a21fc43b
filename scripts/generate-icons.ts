/**
 * Writes appPackage/color.png and appPackage/outline.png from the mark drawn in icon-art.ts.
 * The PNGs are committed; run this only when the mark changes:
 *   node --import tsx scripts/generate-icons.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { renderColorIcon, renderOutlineIcon } from './app-package/icon-art';

const appPackageDir = path.resolve(__dirname, '..', 'appPackage');

for (const [file, png] of [
  ['color.png', renderColorIcon()],
  ['outline.png', renderOutlineIcon()],
] as const) {
  const target = path.join(appPackageDir, file);
  fs.writeFileSync(target, PNG.sync.write(png, { colorType: 6 }));
  console.log(`wrote ${path.relative(process.cwd(), target)} (${png.width}x${png.height})`);
}
