/**
 * WebP: the RIFF container must hold exactly the bytes its header declares (fewer is
 * truncation, more is a damaged or doctored file), its chunks must tile it, and the image is
 * sized by its VP8 (lossy), VP8L (lossless) or VP8X (extended) header.
 */
import {
  ImageProblem,
  announce,
  ascii,
  nextChunk,
  skip,
  take,
  u16le,
  u24le,
  u32le,
  type ImageParser,
  type ParseSteps,
} from "./stream-parser.js";

interface Size {
  width: number;
  height: number;
}

const ANIMATION_FLAG = 0x02;

function corrupt(why: string): ImageProblem {
  return new ImageProblem(`corrupt WebP: ${why}`);
}

function* readVp8(size: number): ParseSteps<Size> {
  if (size < 10) throw corrupt("VP8 chunk too short");
  const head = yield* take(10, "inside the VP8 chunk");
  if ((head[0]! & 1) !== 0) throw corrupt("the VP8 image does not start with a key frame");
  if (head[3] !== 0x9d || head[4] !== 0x01 || head[5] !== 0x2a) throw corrupt("bad VP8 start code");
  yield* skip(size - 10, "inside the VP8 chunk");
  return { width: u16le(head, 6) & 0x3fff, height: u16le(head, 8) & 0x3fff };
}

function* readVp8l(size: number): ParseSteps<Size> {
  if (size < 5) throw corrupt("VP8L chunk too short");
  const head = yield* take(5, "inside the VP8L chunk");
  if (head[0] !== 0x2f) throw corrupt("bad VP8L signature");
  const bits = u32le(head, 1);
  if (bits >>> 29 !== 0) throw corrupt("unknown VP8L version");
  yield* skip(size - 5, "inside the VP8L chunk");
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
}

export function* parseWebp(): ImageParser {
  const riff = yield* take(12, "inside the RIFF header");
  if (ascii(riff, 0, 4) !== "RIFF" || ascii(riff, 8, 12) !== "WEBP") throw corrupt("bad RIFF header");
  const declared = u32le(riff, 4);
  if (declared < 4) throw corrupt("RIFF size too small");
  const ends = `short of the ${declared + 8} bytes its RIFF header declares`;
  let remaining = declared - 4;

  let canvas: Size | undefined;
  let bitstream: Size | undefined;
  let first = true;
  while (remaining > 0) {
    if (remaining < 8) throw corrupt("the RIFF size does not match its chunks");
    const header = yield* take(8, ends);
    const fourcc = ascii(header, 0, 4);
    const size = u32le(header, 4);
    const padded = size + (size & 1);
    if (padded > remaining - 8) throw corrupt(`the ${fourcc.trim()} chunk runs past the RIFF size`);
    remaining -= 8 + padded;

    if (first && fourcc !== "VP8 " && fourcc !== "VP8L" && fourcc !== "VP8X") throw corrupt("no image header");
    if (fourcc === "VP8X") {
      if (!first || size < 10) throw corrupt("misplaced or short VP8X chunk");
      const head = yield* take(10, "inside the VP8X chunk");
      if (head[0]! & ANIMATION_FLAG) throw new ImageProblem("animated WebP: use a still photo");
      canvas = { width: u24le(head, 4) + 1, height: u24le(head, 7) + 1 };
      yield* announce({ format: "webp", ...canvas });
      yield* skip(padded - 10, "inside the VP8X chunk");
    } else if ((fourcc === "VP8 " || fourcc === "VP8L") && !bitstream) {
      bitstream = fourcc === "VP8L" ? yield* readVp8l(size) : yield* readVp8(size);
      if (!canvas) yield* announce({ format: "webp", ...bitstream });
      yield* skip(padded - size, ends);
    } else {
      yield* skip(padded, `inside the ${fourcc.trim()} chunk`);
    }
    first = false;
  }

  if (!bitstream) throw corrupt("no image data");
  if (canvas && (canvas.width !== bitstream.width || canvas.height !== bitstream.height)) {
    throw corrupt("the image size differs from the canvas size");
  }
  if (bitstream.width === 0 || bitstream.height === 0) throw corrupt("zero width or height");
  if ((yield* nextChunk()) !== null) throw corrupt("the file is longer than its RIFF header declares");
  const { width, height } = canvas ?? bitstream;
  return { format: "webp", width, height };
}
