/**
 * The icon rules Teams enforces on upload, checked before we build a package it would reject:
 * colour icon 192x192; outline icon 32x32, transparent background, one white foreground colour.
 */
import { PNG } from 'pngjs';

const COLOR_ICON_SIZE = 192;
const OUTLINE_ICON_SIZE = 32;

function decode(name: string, bytes: Buffer): PNG | string {
  try {
    return PNG.sync.read(bytes);
  } catch (error) {
    return `${name}: is not a readable PNG (${(error as Error).message})`;
  }
}

function sizeProblem(name: string, png: PNG, size: number): string[] {
  return png.width === size && png.height === size
    ? []
    : [`${name}: must be ${size}x${size} pixels, is ${png.width}x${png.height}`];
}

function hex(r: number, g: number, b: number): string {
  return '#' + [r, g, b].map((c) => c.toString(16).padStart(2, '0').toUpperCase()).join('');
}

/** Problems with the colour icon; empty when it is fine. */
export function checkColorIcon(name: string, bytes: Buffer): string[] {
  const png = decode(name, bytes);
  return typeof png === 'string' ? [png] : sizeProblem(name, png, COLOR_ICON_SIZE);
}

/** Problems with the outline icon; empty when it is fine. */
export function checkOutlineIcon(name: string, bytes: Buffer): string[] {
  const png = decode(name, bytes);
  if (typeof png === 'string') return [png];
  const problems = sizeProblem(name, png, OUTLINE_ICON_SIZE);
  let transparent = 0;
  let wrongColour: string | undefined;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b, a] = png.data.subarray(i, i + 4);
    if (a === 0) {
      transparent++;
    } else if ((r !== 255 || g !== 255 || b !== 255) && wrongColour === undefined) {
      const pixel = i / 4;
      wrongColour = `${name}: pixel (${pixel % png.width},${Math.floor(pixel / png.width)}) is ${hex(r, g, b)}; the outline icon must be white (#FFFFFF) on transparent`;
    }
  }
  if (transparent === 0) problems.push(`${name}: has no transparent pixels; the outline icon needs a transparent background`);
  if (wrongColour) problems.push(wrongColour);
  return problems;
}
