/**
 * Countersign's mark, drawn in code so the two Teams icons can be regenerated exactly:
 * a shield (the guarded change) with a check mark (the second person's approval).
 * Shapes are in unit coordinates (0..1) and rasterised with 4x4 supersampling for smooth edges.
 */
import { PNG } from 'pngjs';

/** Countersign's accent colour: the manifest's accentColor and the colour icon's background. */
export const ACCENT_COLOR = '#1A7F64';

type Point = readonly [number, number];

const SUPERSAMPLING = 4;

/** The shield's outline: flat shoulders, straight sides, sides curving down to a point. */
const SHIELD: Point[] = shieldPolygon();
const CHECK: Point[] = [
  [0.33, 0.5],
  [0.45, 0.63],
  [0.67, 0.37],
];

function shieldPolygon(): Point[] {
  const right: Point[] = [
    [0.5, 0.08],
    [0.82, 0.19],
    [0.82, 0.46],
  ];
  // Quadratic curve from the right side's foot to the bottom point, flattened into segments.
  const [p0, control, p2]: Point[] = [[0.82, 0.46], [0.8, 0.76], [0.5, 0.93]];
  for (let i = 1; i <= 12; i++) {
    const t = i / 12;
    const x = (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * control[0] + t ** 2 * p2[0];
    const y = (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * control[1] + t ** 2 * p2[1];
    right.push([x, y]);
  }
  const left = right
    .slice(1, -1)
    .reverse()
    .map(([x, y]): Point => [1 - x, y]);
  return [...right, ...left];
}

function distanceToSegment([px, py]: Point, [ax, ay]: Point, [bx, by]: Point): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function distanceToPolyline(p: Point, points: Point[], closed: boolean): number {
  let best = Infinity;
  const last = closed ? points.length : points.length - 1;
  for (let i = 0; i < last; i++) {
    best = Math.min(best, distanceToSegment(p, points[i], points[(i + 1) % points.length]));
  }
  return best;
}

function insidePolygon([px, py]: Point, polygon: Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Fraction (0..1) of a pixel covered by a shape, the shape given as a test on unit coordinates. */
function coverage(
  size: number,
  margin: number,
  x: number,
  y: number,
  inShape: (p: Point) => boolean,
): number {
  let hits = 0;
  for (let sy = 0; sy < SUPERSAMPLING; sy++) {
    for (let sx = 0; sx < SUPERSAMPLING; sx++) {
      const px = (x + (sx + 0.5) / SUPERSAMPLING) / size;
      const py = (y + (sy + 0.5) / SUPERSAMPLING) / size;
      // Map the icon square onto the art's unit square, leaving `margin` on every side.
      const u = (px - margin) / (1 - 2 * margin);
      const v = (py - margin) / (1 - 2 * margin);
      if (inShape([u, v])) hits++;
    }
  }
  return hits / SUPERSAMPLING ** 2;
}

function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function setPixel(png: PNG, x: number, y: number, rgba: [number, number, number, number]): void {
  const i = (y * png.width + x) * 4;
  png.data.set(rgba.map((c) => Math.round(c)), i);
}

/**
 * The 192x192 colour icon: accent background, white filled shield, check mark in the accent colour.
 * Teams asks for the symbol inside the central area with the background running to the edges.
 */
export function renderColorIcon(): PNG {
  const size = 192;
  const png = new PNG({ width: size, height: size });
  const accent = hexToRgb(ACCENT_COLOR);
  const white: [number, number, number] = [255, 255, 255];
  const margin = 0.2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const shield = coverage(size, margin, x, y, (p) => insidePolygon(p, SHIELD));
      const check = coverage(size, margin, x, y, (p) => distanceToPolyline(p, CHECK, false) <= 0.055);
      const whiteShare = Math.max(0, shield - check);
      const rgb = accent.map((c, k) => c * (1 - whiteShare) + white[k] * whiteShare);
      setPixel(png, x, y, [rgb[0], rgb[1], rgb[2], 255]);
    }
  }
  return png;
}

/**
 * The 32x32 outline icon: white shield outline and check mark on a transparent background.
 * Only the alpha channel varies, so the foreground stays a single colour even at anti-aliased edges.
 */
export function renderOutlineIcon(): PNG {
  const size = 32;
  const png = new PNG({ width: size, height: size });
  const margin = 0.03;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const alpha = coverage(
        size,
        margin,
        x,
        y,
        (p) => distanceToPolyline(p, SHIELD, true) <= 0.035 || distanceToPolyline(p, CHECK, false) <= 0.045,
      );
      setPixel(png, x, y, [255, 255, 255, alpha * 255]);
    }
  }
  return png;
}
