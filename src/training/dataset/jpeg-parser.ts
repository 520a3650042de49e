/**
 * JPEG: walks the marker segments by their lengths to the frame header (SOF0/1/2, which the
 * trainer's decoder reads), then through every scan's entropy-coded data to the EOI marker.
 * A segment running past the end of the file or a missing EOI is truncation. Bytes after EOI
 * are tolerated: phones append motion-photo videos and vendor trailers there.
 */
import {
  ImageProblem,
  announce,
  nextChunk,
  skip,
  take,
  u16be,
  unread,
  type ImageParser,
  type ParseSteps,
} from "./stream-parser.js";
import type { ImageInfo } from "./types.js";

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const SUPPORTED_FRAMES = new Set([0xc0, 0xc1, 0xc2]);

function corrupt(why: string): ImageProblem {
  return new ImageProblem(`corrupt JPEG: ${why}`);
}

function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

function segmentName(marker: number): string {
  if (marker >= 0xe0 && marker <= 0xef) return `an APP${marker - 0xe0} segment`;
  if (isFrameHeader(marker)) return "the frame header";
  if (marker === SOS) return "a scan header";
  const names: Record<number, string> = { 0xc4: "a DHT segment", 0xdb: "a DQT segment", 0xdd: "a DRI segment", 0xfe: "a comment" };
  return names[marker] ?? `a segment (marker 0x${marker.toString(16)})`;
}

function* readMarker(where: string): ParseSteps<number> {
  const [first] = yield* take(1, where);
  if (first !== 0xff) throw corrupt("data where a marker was expected (the file is damaged)");
  let code = (yield* take(1, where))[0]!;
  while (code === 0xff) code = (yield* take(1, where))[0]!;
  if (code === 0x00) throw corrupt("an invalid marker (the file is damaged)");
  return code;
}

/** Reads entropy-coded data up to the next marker that is not a restart marker; returns it. */
function* scanEntropyData(): ParseSteps<number> {
  let afterFF = false;
  for (;;) {
    const chunk = yield* nextChunk();
    if (chunk === null) {
      throw new ImageProblem("truncated: the file ends inside the image data, before the end-of-image (EOI) marker");
    }
    let i = 0;
    while (i < chunk.length) {
      if (afterFF) {
        const code = chunk[i++]!;
        if (code === 0xff) continue;
        afterFF = false;
        // 0xFF00 is an escaped data byte; RSTn markers separate restart intervals within a scan.
        if (code === 0x00 || (code >= 0xd0 && code <= 0xd7)) continue;
        yield* unread(chunk.subarray(i));
        return code;
      }
      const ff = chunk.indexOf(0xff, i);
      if (ff < 0) break;
      afterFF = true;
      i = ff + 1;
    }
  }
}

function* readFrameHeader(marker: number, length: number): ParseSteps<ImageInfo> {
  const data = yield* take(length, "inside the frame header");
  if (!SUPPORTED_FRAMES.has(marker)) {
    throw new ImageProblem(
      "JPEG in a coding the trainer's decoder may not read (lossless, hierarchical or arithmetic); re-save it as a standard JPEG",
    );
  }
  if (length < 6) throw corrupt("frame header too short");
  const precision = data[0]!;
  const height = u16be(data, 1);
  const width = u16be(data, 3);
  const components = data[5]!;
  if (length !== 6 + 3 * components || ![1, 3, 4].includes(components)) throw corrupt("invalid frame header");
  if (precision !== 8) throw new ImageProblem(`${precision}-bit JPEG: re-save it as a standard 8-bit JPEG`);
  if (width === 0) throw corrupt("width 0 in the frame header");
  if (height === 0) throw new ImageProblem("JPEG whose height is given later in the file (DNL), which is not supported; re-save it");
  return { format: "jpeg", width, height };
}

export function* parseJpeg(): ImageParser {
  const soi = yield* take(2, "inside the JPEG signature");
  if (soi[0] !== 0xff || soi[1] !== SOI) throw corrupt("bad signature");

  let frame: ImageInfo | undefined;
  let scanned = false;
  let marker = yield* readMarker("before any image data");
  for (;;) {
    if (marker === EOI) {
      if (!frame || !scanned) throw corrupt("it ends (EOI) before any image data");
      return frame;
    }
    if (marker === SOI) throw corrupt("a second start-of-image marker");
    if (!isStandalone(marker)) {
      const name = segmentName(marker);
      const length = u16be(yield* take(2, `inside ${name}`), 0);
      if (length < 2) throw corrupt(`${name} with an impossible length`);
      if (isFrameHeader(marker)) {
        if (frame) throw corrupt("more than one frame header");
        frame = yield* readFrameHeader(marker, length - 2);
        yield* announce(frame);
      } else if (marker === SOS) {
        if (!frame) throw corrupt("image data before the frame header");
        yield* skip(length - 2, `inside ${name}`);
        marker = yield* scanEntropyData();
        scanned = true;
        continue;
      } else {
        yield* skip(length - 2, `inside ${name}`);
      }
    }
    marker = yield* readMarker(scanned ? "before the end-of-image (EOI) marker" : "before any image data");
  }
}
