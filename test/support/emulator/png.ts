/**
 * A tiny PNG encoder (RGB, 8 bit, no interlace) with tEXt chunks, so every output image is a real,
 * decodable PNG that names the prediction, seed, index and version that made it.
 */
import { createHash } from "node:crypto";
import { crc32, deflateSync, inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export interface PngSpec {
  width: number;
  height: number;
  /** Pixel colours are derived from this, so different seeds give different pixels. */
  seedText: string;
  text: Record<string, string>;
}

export function encodePng(spec: PngSpec): Buffer {
  const { width, height } = spec;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const digest = createHash("sha256").update(spec.seedText).digest();
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) raw[row + 1 + x * 3 + c] = (digest[(x + y * width + c) % 32]! + x * 7 + y * 13) & 0xff;
    }
  }
  const texts = Object.entries(spec.text).map(([k, v]) =>
    chunk("tEXt", Buffer.concat([Buffer.from(k, "latin1"), Buffer.from([0]), Buffer.from(v, "latin1")])),
  );
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", ihdr),
    ...texts,
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export interface DecodedPng {
  width: number;
  height: number;
  text: Record<string, string>;
  /** Inflated scanlines (with filter bytes), for comparing pixels. */
  pixels: Buffer;
}

/** Reads back what encodePng wrote, checking every CRC; throws on anything else. */
export function decodePng(bytes: Buffer): DecodedPng {
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  const text: Record<string, string> = {};
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const crc = bytes.readUInt32BE(offset + 8 + length);
    if (crc !== crc32(bytes.subarray(offset + 4, offset + 8 + length))) throw new Error(`bad CRC in ${type}`);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    } else if (type === "tEXt") {
      const nul = data.indexOf(0);
      text[data.toString("latin1", 0, nul)] = data.toString("latin1", nul + 1);
    } else if (type === "IDAT") idat.push(data);
    offset += 12 + length;
    if (type === "IEND") break;
  }
  return { width, height, text, pixels: inflateSync(Buffer.concat(idat)) };
}

/** Small stand-in dimensions with the requested aspect ratio: "3:4" -> 6x8. */
export function dimensionsFor(aspectRatio: unknown): { width: number; height: number } {
  const m = typeof aspectRatio === "string" ? /^(\d+):(\d+)$/.exec(aspectRatio) : null;
  if (!m) return { width: 8, height: 8 };
  let w = Number(m[1]);
  let h = Number(m[2]);
  while (Math.max(w, h) < 8) {
    w *= 2;
    h *= 2;
  }
  return { width: w, height: h };
}
