/**
 * PNG: the signature, IHDR first, then every chunk with its length and CRC checked, up to IEND.
 * Bytes after IEND are tolerated (decoders ignore them).
 */
import { crc32 } from "node:zlib";
import { ImageProblem, announce, ascii, skip, take, u32be, type ImageParser } from "./stream-parser.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_CHUNK_LENGTH = 0x7fffffff;
/** Bit depths allowed for each colour type (PNG spec, table 11.1). */
const BIT_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function corrupt(why: string): ImageProblem {
  return new ImageProblem(`corrupt PNG: ${why}`);
}

export function* parsePng(): ImageParser {
  const signature = yield* take(8, "inside the PNG signature");
  if (!SIGNATURE.every((byte, i) => signature[i] === byte)) throw corrupt("bad signature");

  const ihdrHeader = yield* take(8, "before the IHDR chunk");
  if (ascii(ihdrHeader, 4, 8) !== "IHDR" || u32be(ihdrHeader, 0) !== 13) throw corrupt("the first chunk is not a valid IHDR");
  const ihdr = yield* take(13, "inside the IHDR chunk");
  const ihdrCrc = yield* take(4, "inside the IHDR chunk");
  if (crc32(ihdr, crc32(ihdrHeader.subarray(4, 8))) !== u32be(ihdrCrc, 0)) throw corrupt("bad CRC in the IHDR chunk");

  const width = u32be(ihdr, 0);
  const height = u32be(ihdr, 4);
  const [bitDepth, colorType, compression, filter, interlace] = ihdr.subarray(8);
  if (width === 0 || height === 0 || width > MAX_CHUNK_LENGTH || height > MAX_CHUNK_LENGTH) {
    throw corrupt(`impossible size ${width}x${height}`);
  }
  if (!BIT_DEPTHS[colorType!]?.includes(bitDepth!) || compression !== 0 || filter !== 0 || interlace! > 1) {
    throw corrupt("invalid IHDR fields");
  }
  yield* announce({ format: "png", width, height });

  let sawPalette = false;
  let sawData = false;
  for (;;) {
    const header = yield* take(8, sawData ? "before the IEND chunk" : "before any image data");
    const length = u32be(header, 0);
    const typeBytes = header.subarray(4, 8);
    const type = ascii(header, 4, 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt("a chunk has an invalid type (the file is damaged)");
    if (length > MAX_CHUNK_LENGTH) throw corrupt(`the ${type} chunk has an impossible length`);
    if (type === "IHDR") throw corrupt("a second IHDR chunk");
    if (type === "acTL") throw new ImageProblem("animated PNG (APNG): use a still photo");
    if (type === "IDAT" && colorType === 3 && !sawPalette) throw corrupt("palette image without a PLTE chunk");

    let crc = crc32(typeBytes);
    yield* skip(length, `inside the ${type} chunk`, (bytes) => {
      crc = crc32(bytes, crc);
    });
    const stored = yield* take(4, `inside the ${type} chunk`);
    if (crc !== u32be(stored, 0)) throw corrupt(`bad CRC in the ${type} chunk (the file is damaged)`);

    if (type === "PLTE") sawPalette = true;
    if (type === "IDAT") sawData = true;
    if (type === "IEND") {
      if (!sawData) throw corrupt("no image data (IDAT) before IEND");
      return { format: "png", width, height };
    }
  }
}
