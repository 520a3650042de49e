/**
 * Real image files and archives for tests, made without native dependencies: PNG with node:zlib
 * (its deflate and its crc32, never the CRC of the code under test), JPEG with jpeg-js, WebP with a hand-written lossless (VP8L) encoder for
 * one-colour images. Every maker takes a seed so that no two generated images are identical.
 * Also: the broken, foreign and hostile files the dataset checks must refuse.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { crc32, deflateRawSync, deflateSync } from "node:zlib";
import jpeg from "jpeg-js";

export interface ImageSpec {
  width: number;
  height: number;
  seed?: number;
}

/** A small, fast PRNG (xorshift32): the same seed gives the same pixels on every run. */
function prng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** RGB pixels: a seed-shifted gradient, or noise (incompressible, photo-sized files) with `noise`. */
function rgbPixels(width: number, height: number, seed: number, noise: boolean): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  if (noise) {
    const next = prng(seed + 1);
    const words = new Uint32Array(px.buffer, 0, Math.floor(px.length / 4));
    for (let i = 0; i < words.length; i++) words[i] = next();
    return px;
  }
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      px[i] = (x + seed * 7) & 255;
      px[i + 1] = (y + seed * 13) & 255;
      px[i + 2] = (x ^ y ^ seed) & 255;
    }
  }
  return px;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * An 8-bit RGB PNG. `noise` makes it photo-like in size (about 3 bytes a pixel); `level` is the
 * zlib level (0 is fastest). The seed is also written in a tEXt chunk, so seeds never collide.
 */
export function makePng(spec: ImageSpec & { noise?: boolean; level?: number }): Buffer {
  const { width, height, seed = 0, noise = false, level = 6 } = spec;
  const px = rgbPixels(width, height, seed, noise);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter type None
    raw.set(px.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", ihdr),
    pngChunk("tEXt", Buffer.from(`Comment\0seed ${seed}`, "latin1")),
    pngChunk("IDAT", deflateSync(raw, { level })),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

/** A baseline JPEG from jpeg-js, with the seed in a comment (COM) segment. */
export function makeJpeg(spec: ImageSpec & { quality?: number; noise?: boolean }): Buffer {
  const { width, height, seed = 0, quality = 80, noise = false } = spec;
  const rgb = rgbPixels(width, height, seed, noise);
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i]!;
    rgba[j + 1] = rgb[i + 1]!;
    rgba[j + 2] = rgb[i + 2]!;
  }
  return jpeg.encode({ data: rgba, width, height, comments: [`seed ${seed}`] }, quality).data;
}

/** Writes bits least-significant first, as VP8L reads them. */
class BitWriter {
  private bytes: number[] = [];
  private bitCount = 0;

  write(value: number, bits: number): this {
    for (let i = 0; i < bits; i++) {
      const byte = this.bitCount >> 3;
      if (byte === this.bytes.length) this.bytes.push(0);
      if ((value >>> i) & 1) this.bytes[byte]! |= 1 << (this.bitCount & 7);
      this.bitCount++;
    }
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

function riff(chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from("WEBP"), ...chunks]);
  const header = Buffer.alloc(8);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourcc, 0, "latin1");
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data, Buffer.alloc(data.length & 1)]);
}

/**
 * A valid lossless WebP of one colour (chosen by the seed), any size up to 16384x16384.
 * The VP8L bitstream has no transforms and five one-symbol prefix codes (green, red, blue,
 * alpha, distance); a one-symbol code takes zero bits a pixel, so the stream is 8 bytes long
 * whatever the size. `dwebp` decodes it.
 */
export function makeWebp(spec: ImageSpec): Buffer {
  const { width, height, seed = 0 } = spec;
  const colour = (seed * 2654435761) >>> 8;
  const [r, g, b] = [(colour >> 16) & 255, (colour >> 8) & 255, colour & 255];
  const bits = new BitWriter()
    .write(0x2f, 8)
    .write(width - 1, 14)
    .write(height - 1, 14)
    .write(0, 1) // alpha_is_used
    .write(0, 3) // version
    .write(0, 1) // no transform
    .write(0, 1) // no colour cache
    .write(0, 1); // no meta prefix codes
  for (const symbol of [g, r, b, 255, 0]) bits.write(1, 1).write(0, 1).write(1, 1).write(symbol, 8);
  return riff([riffChunk("VP8L", bits.toBuffer())]);
}

/**
 * A lossy (VP8) WebP whose frame header is valid and whose compressed data is filler: enough
 * for a parser that reads sizes, not for a decoder.
 */
export function makeLossyWebpHeader(spec: ImageSpec & { extended?: boolean; animated?: boolean }): Buffer {
  const { width, height, seed = 0 } = spec;
  const frame = Buffer.alloc(64, seed & 255);
  frame.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], 0); // key frame tag, start code
  frame.writeUInt16LE(width & 0x3fff, 6);
  frame.writeUInt16LE(height & 0x3fff, 8);
  const vp8 = riffChunk("VP8 ", frame);
  if (!spec.extended && !spec.animated) return riff([vp8]);
  const vp8x = Buffer.alloc(10);
  vp8x[0] = spec.animated ? 0x02 : 0x00;
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  return riff([riffChunk("VP8X", vp8x), vp8]);
}

export function makeGif(): Buffer {
  return Buffer.concat([
    Buffer.from("GIF89a", "latin1"),
    Buffer.from([0x00, 0x04, 0x00, 0x04, 0x80, 0x00, 0x00, 0, 0, 0, 255, 255, 255]),
    Buffer.from([0x2c, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x04, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]),
  ]);
}

/** The start of an iPhone HEIC: an ISO-BMFF `ftyp` box with the heic brand, then a `meta` box. */
export function makeHeic(seed = 0): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write("ftypheic", 4, "latin1");
  ftyp.write("mif1heic", 16, "latin1");
  const meta = Buffer.alloc(200, seed & 255);
  meta.writeUInt32BE(200, 0);
  meta.write("meta", 4, "latin1");
  return Buffer.concat([ftyp, meta]);
}

/** The first `keep` bytes (negative: all but the last `-keep`). */
export function truncate(file: Buffer, keep: number): Buffer {
  return Buffer.from(file.subarray(0, keep < 0 ? file.length + keep : keep));
}

/** A PNG with one data byte of its IDAT changed, so that chunk's CRC no longer matches. */
export function corruptPngData(png: Buffer): Buffer {
  const out = Buffer.from(png);
  const idat = out.indexOf("IDAT", 8, "latin1");
  out[idat + 8] = out[idat + 8]! ^ 0xff;
  return out;
}

/** A PNG whose last chunk (IEND) is gone. */
export function pngWithoutIend(png: Buffer): Buffer {
  return truncate(png, -12);
}

/** A JPEG without its end-of-image marker. */
export function jpegWithoutEoi(file: Buffer): Buffer {
  return truncate(file, -2);
}

/** A WebP whose RIFF header declares `delta` more (or fewer) bytes than the file has. */
export function webpWithRiffSizeOff(file: Buffer, delta: number): Buffer {
  const out = Buffer.from(file);
  out.writeUInt32LE(out.readUInt32LE(4) + delta, 4);
  return out;
}

/** `count` distinct valid images named img-01.png, ... (PNG, JPEG and WebP in turn with `mixed`). */
export function goodImages(count: number, spec: Partial<ImageSpec> & { mixed?: boolean } = {}): Map<string, Buffer> {
  const { width = 512, height = 640, seed = 0, mixed = false } = spec;
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const n = String(i + 1).padStart(2, "0");
    const kind = mixed ? i % 3 : 0;
    if (kind === 0) files.set(`img-${n}.png`, makePng({ width, height, seed: seed + i }));
    else if (kind === 1) files.set(`img-${n}.jpg`, makeJpeg({ width, height, seed: seed + i }));
    else files.set(`img-${n}.webp`, makeWebp({ width, height, seed: seed + i }));
  }
  return files;
}

/** Writes name -> content under `dir` (creating folders in names like "sub/a.png"). */
export function writeFiles(dir: string, files: Iterable<[string, Buffer | string]>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of files) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}

export interface ZipEntrySpec {
  /** Written as given: `../x`, `/etc/x`, `C:\\x` are all possible here, unlike with yazl. */
  name: string;
  data: Buffer;
  /** Deflate (8, the default) or store (0). */
  method?: 0 | 8;
  /** Lie in the headers about the inflated size. */
  declaredSize?: number;
  /** Unix mode in the external attributes, e.g. 0o120777 for a symbolic link. */
  mode?: number;
  encrypted?: boolean;
  /** A CRC-32 other than the data's, as in a damaged archive. */
  crc?: number;
}

/** A zip archive written byte by byte, so tests can make the hostile ones no zip library writes. */
export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name, "utf8");
    const crc = e.crc ?? crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const flags = 0x0800 | (e.encrypted ? 1 : 0);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Entries for buildZip from a name -> content map. */
export function zipEntries(files: Iterable<[string, Buffer]>, prefix = "", method: 0 | 8 = 8): ZipEntrySpec[] {
  return [...files].map(([name, data]) => ({ name: prefix + name, data, method }));
}

/** `bytes` of zeros that deflate about a thousandfold: the classic zip bomb payload. */
export function zeros(bytes: number): Buffer {
  return Buffer.alloc(bytes);
}
