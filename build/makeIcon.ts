// Effectful (writes build/icons/icon.png). Draws the app icon, a padlock on a dark rounded
// square, at 512x512 and encodes it as PNG with zlib alone, so the icon is reproducible from
// source: `npx tsx build/makeIcon.ts`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

type Rgba = readonly [number, number, number, number];

const SIZE = 512;
/** Subsamples per axis for anti-aliased edges. */
const SUPERSAMPLE = 4;
const BACKGROUND: Rgba = [15, 23, 42, 255];
const LOCK: Rgba = [20, 184, 166, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

function inRoundedRect(x: number, y: number, x0: number, y0: number, x1: number, y1: number, r: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** colorAt is the icon as a function of a point: last matching layer wins. */
function colorAt(x: number, y: number): Rgba {
  let color = CLEAR;
  if (inRoundedRect(x, y, 24, 24, 488, 488, 104)) color = BACKGROUND;
  const d = Math.hypot(x - 256, y - 214);
  const shackleArc = y <= 214 && d <= 112 && d >= 72;
  const shackleLegs = y > 214 && y <= 262 && ((x >= 144 && x <= 184) || (x >= 328 && x <= 368));
  if (shackleArc || shackleLegs) color = LOCK;
  if (inRoundedRect(x, y, 112, 246, 400, 436, 40)) color = LOCK;
  const keyhole = Math.hypot(x - 256, y - 322) <= 30 || (y >= 322 && y <= 392 && Math.abs(x - 256) <= 12 + (y - 322) * 0.12);
  if (keyhole && inRoundedRect(x, y, 112, 246, 400, 436, 40)) color = BACKGROUND;
  return color;
}

function render(): Buffer {
  const stride = SIZE * 4 + 1;
  const raw = Buffer.alloc(stride * SIZE);
  for (let py = 0; py < SIZE; py++) {
    raw[py * stride] = 0; // filter: none
    for (let px = 0; px < SIZE; px++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = colorAt(px + (sx + 0.5) / SUPERSAMPLE, py + (sy + 0.5) / SUPERSAMPLE);
          // Premultiply so edges against transparency do not darken.
          sum[0]! += c[0] * c[3];
          sum[1]! += c[1] * c[3];
          sum[2]! += c[2] * c[3];
          sum[3]! += c[3];
        }
      }
      const alpha = sum[3]!;
      const at = py * stride + 1 + px * 4;
      raw[at] = alpha === 0 ? 0 : Math.round(sum[0]! / alpha);
      raw[at + 1] = alpha === 0 ? 0 : Math.round(sum[1]! / alpha);
      raw[at + 2] = alpha === 0 ? 0 : Math.round(sum[2]! / alpha);
      raw[at + 3] = Math.round(alpha / (SUPERSAMPLE * SUPERSAMPLE));
    }
  }
  return raw;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** encodePng wraps 8-bit RGBA scanlines (each led by a filter byte) into a PNG file. */
function encodePng(width: number, height: number, scanlines: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'icons', 'icon.png');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, encodePng(SIZE, SIZE, render()));
process.stdout.write(`wrote build/icons/icon.png (${SIZE}x${SIZE})\n`);
