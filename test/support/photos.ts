/**
 * Photos for the preparation tests: the real fixtures (test/fixtures/photos, see its README) and
 * variants made with sharp: distinct generated photos of any size and format, an EXIF orientation
 * flag on stored pixels, GPS/maker/XMP/comment metadata added. Plus the checks every prepared
 * output must pass: no metadata segment, and none of a source's metadata bytes anywhere.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { readJpegStructure } from "../../src/datasets/jpeg-structure.js";

export const PHOTOS = fileURLToPath(new URL("../fixtures/photos/", import.meta.url));

export function fixture(name: string): Buffer {
  return readFileSync(join(PHOTOS, name));
}

/** Seeded RGB pixels: a diagonal gradient with a seed-dependent colour and a bright top-left block. */
function pixels(width: number, height: number, seed: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  const r0 = (seed * 67) & 255;
  const g0 = (seed * 131) & 255;
  const b0 = (seed * 29) & 255;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      const corner = x < width / 4 && y < height / 4;
      px[i] = corner ? 255 : (r0 + ((x * 255) / width)) & 255;
      px[i + 1] = corner ? 32 : (g0 + ((y * 255) / height)) & 255;
      px[i + 2] = corner ? 32 : (b0 + (((x + y) * 127) / (width + height))) & 255;
    }
  }
  return px;
}

export type PhotoFormat = "jpeg" | "png" | "webp" | "avif";

/** A distinct photo (by seed) of the given size and format, without any metadata. */
export async function makePhoto(seed: number, opts: { width?: number; height?: number; format?: PhotoFormat; progressive?: boolean } = {}) {
  const { width = 700, height = 900, format = "jpeg" } = opts;
  const image = sharp(pixels(width, height, seed), { raw: { width, height, channels: 3 } });
  if (format === "png") return image.png({ compressionLevel: 1 }).toBuffer();
  if (format === "webp") return image.webp({ quality: 80 }).toBuffer();
  if (format === "avif") return image.avif({ quality: 50, effort: 0 }).toBuffer();
  return image.jpeg({ quality: 85, progressive: opts.progressive ?? false }).toBuffer();
}

/** `count` distinct JPEGs named photo-01.jpg, ... */
export async function photoSet(count: number, seed = 0, opts: { width?: number; height?: number } = {}): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) files.set(`photo-${String(i + 1).padStart(2, "0")}.jpg`, await makePhoto(seed + i, opts));
  return files;
}

/** The same stored pixels, with an EXIF orientation flag (1-8) saying how to show them. */
export function withOrientation(jpeg: Buffer, orientation: number): Promise<Buffer> {
  return sharp(jpeg).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
}

export const SECRET_MAKE = "SselfieTestMakeXYZ";
export const SECRET_XMP = "sselfie-secret-xmp-7f3a";
export const SECRET_COMMENT = "sselfie-secret-comment-91c2";

/** A JPEG carrying EXIF (device, GPS), XMP and a comment, each with a recognisable string. */
export async function withPrivateMetadata(jpeg: Buffer): Promise<Buffer> {
  const tagged = await sharp(jpeg)
    .withExif({
      IFD0: { Make: SECRET_MAKE, Model: "Phone 15 Pro" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2430/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 300/100" },
    })
    .withXmp(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:description="${SECRET_XMP}"/></rdf:RDF></x:xmpmeta>`)
    .jpeg({ quality: 92 })
    .toBuffer();
  return insertJpegComment(tagged, SECRET_COMMENT);
}

/** A COM segment right after SOI. */
export function insertJpegComment(jpeg: Buffer, text: string): Buffer {
  const body = Buffer.from(text, "latin1");
  const segment = Buffer.alloc(4 + body.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(body.length + 2, 2);
  body.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** The metadata a source carries, as sharp reads it (EXIF, XMP, IPTC, ICC), concatenated. */
export async function metadataBytes(source: Buffer): Promise<Buffer[]> {
  const m = await sharp(source).metadata();
  return [m.exif, m.xmp, m.iptc, m.icc].filter((b): b is Buffer => b !== undefined && b.length > 0);
}

/**
 * 24-byte windows of the source's metadata that are distinctive (at least 10 different byte
 * values), so that finding one elsewhere is no coincidence.
 */
export async function metadataWindows(source: Buffer): Promise<Buffer[]> {
  const windows: Buffer[] = [];
  for (const block of await metadataBytes(source)) {
    for (let i = 0; i + 24 <= block.length; i += 24) {
      const w = block.subarray(i, i + 24);
      if (new Set(w).size >= 10) windows.push(w);
    }
  }
  return windows;
}

/** How many of `windows` occur anywhere in `haystack`. */
export function leakedWindows(haystack: Buffer, windows: readonly Buffer[]): number {
  return windows.filter((w) => haystack.includes(w)).length;
}

/** Asserts the prepared JPEG carries no metadata segment (APPn but JFIF, COM) and no ICC/EXIF/XMP. */
export async function metadataFree(jpeg: Buffer): Promise<boolean> {
  const structure = readJpegStructure(jpeg);
  const m = await sharp(jpeg).metadata();
  return (
    structure !== undefined &&
    structure.metadataSegments === 0 &&
    structure.baseline &&
    m.exif === undefined &&
    m.xmp === undefined &&
    m.iptc === undefined &&
    m.icc === undefined &&
    m.format === "jpeg"
  );
}

/** Mean absolute difference per channel of two images at the same (small) size, 0..255. */
export async function pixelDistance(a: Buffer, b: Buffer, size = 64): Promise<number> {
  const raw = (x: Buffer) => sharp(x).resize(size, size, { fit: "fill" }).removeAlpha().raw().toBuffer();
  const [pa, pb] = await Promise.all([raw(a), raw(b)]);
  let sum = 0;
  for (let i = 0; i < pa.length; i++) sum += Math.abs(pa[i]! - pb[i]!);
  return sum / pa.length;
}
