#!/usr/bin/env node
// Draws the app icon, assets/icon.png (1024×1024): a loupe, a ring with a tinted lens and a handle,
// on a transparent background. 1024 is the largest size a macOS icon set holds; electron-builder
// scales this one PNG down into the .icns, the Windows .ico and the Linux icon sizes. Node built-ins only: shapes are signed distance functions, so the
// edges are anti-aliased by the distance to them, and the PNG is written with zlib.
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

const SIZE = 1024;
// The drawing was laid out on a 512 grid; S scales it to SIZE.
const S = SIZE / 512;
const CENTER = { x: 212 * S, y: 212 * S };
const RING = { radius: 134 * S, width: 36 * S };
const HANDLE = { from: { x: 318 * S, y: 318 * S }, to: { x: 446 * S, y: 446 * S }, width: 56 * S };

const RING_COLOR = [37, 99, 235, 255];
const LENS_COLOR = [147, 197, 253, 90];
const HANDLE_COLOR = [30, 41, 59, 255];

const length = (x, y) => Math.hypot(x, y);

/** Distance from p to the segment a–b. */
function segmentDistance(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy)));
  return length(p.x - a.x - t * dx, p.y - a.y - t * dy);
}

/** Signed distances (negative inside) of the three shapes, drawn in this order. */
const layers = [
  [LENS_COLOR, (p) => length(p.x - CENTER.x, p.y - CENTER.y) - RING.radius],
  [HANDLE_COLOR, (p) => segmentDistance(p, HANDLE.from, HANDLE.to) - HANDLE.width / 2],
  [
    RING_COLOR,
    (p) => Math.abs(length(p.x - CENTER.x, p.y - CENTER.y) - RING.radius) - RING.width / 2,
  ],
];

/** Straight-alpha "over" of `color` with `coverage` onto the pixel at `offset`. */
function blend(pixels, offset, color, coverage) {
  const top = (color[3] / 255) * coverage;
  const bottom = pixels[offset + 3] / 255;
  const alpha = top + bottom * (1 - top);
  if (alpha === 0) return;
  for (let i = 0; i < 3; i++) {
    pixels[offset + i] = Math.round(
      (color[i] * top + pixels[offset + i] * bottom * (1 - top)) / alpha,
    );
  }
  pixels[offset + 3] = Math.round(alpha * 255);
}

function draw() {
  const pixels = new Uint8Array(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const p = { x: x + 0.5, y: y + 0.5 };
      for (const [color, distance] of layers) {
        const coverage = Math.max(0, Math.min(1, 0.5 - distance(p)));
        if (coverage > 0) blend(pixels, (y * SIZE + x) * 4, color, coverage);
      }
    }
  }
  return pixels;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** An 8-bit RGBA PNG, each row with filter type 0 (none). */
function png(pixels, width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    rows.set(pixels.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const target = new URL('../assets/icon.png', import.meta.url);
writeFileSync(target, png(draw(), SIZE, SIZE));
console.log(`wrote ${target.pathname}`);
