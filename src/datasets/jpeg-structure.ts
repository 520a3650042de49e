/**
 * The marker structure of a JPEG, read without decoding: whether it carries any metadata segment
 * and whether it is already what preparation writes (a baseline 3-component JPEG, nothing after
 * its end). Only this decides whether a JPEG may be kept byte-for-byte.
 */

export interface JpegStructure {
  /** APP1..APP15 segments (EXIF, XMP, ICC, IPTC, MPF, ...), APP0 other than JFIF, and COM. */
  readonly metadataSegments: number;
  readonly comment: boolean;
  /** SOF0 or SOF1 (sequential Huffman), one scan. */
  readonly baseline: boolean;
  readonly components: number;
  /** Ends at its EOI, with no data after it and no marker but RSTn inside the scan. */
  readonly clean: boolean;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Undefined when the bytes are not a well-formed JPEG header. */
export function readJpegStructure(b: Buffer): JpegStructure | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let metadataSegments = 0;
  let comment = false;
  let baseline = false;
  let components = 0;
  let scans = 0;
  let at = 2;
  for (;;) {
    if (at + 4 > b.length || b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0xd9) return undefined; // EOI before any scan
    const length = b.readUInt16BE(at + 2);
    if (length < 2 || at + 2 + length > b.length) return undefined;
    const body = b.subarray(at + 4, at + 2 + length);
    if (marker === 0xe0) {
      if (body.subarray(0, 5).toString("latin1") !== "JFIF\0" || (body[12] ?? 0) * (body[13] ?? 0) !== 0) metadataSegments++;
    } else if (marker >= 0xe1 && marker <= 0xef) {
      metadataSegments++;
    } else if (marker === 0xfe) {
      metadataSegments++;
      comment = true;
    } else if (SOF_MARKERS.has(marker)) {
      baseline = marker === 0xc0 || marker === 0xc1;
      components = body[5] ?? 0;
    } else if (marker === 0xda) {
      scans++;
      at += 2 + length;
      break;
    }
    at += 2 + length;
  }
  // Entropy-coded data: only stuffed 0xFF00 and RSTn until the final EOI.
  let clean = true;
  for (let i = at; i < b.length - 1; i++) {
    if (b[i] !== 0xff) continue;
    const next = b[i + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) continue;
    if (next === 0xd9 && i + 2 === b.length) break;
    clean = false;
    break;
  }
  if (b[b.length - 2] !== 0xff || b[b.length - 1] !== 0xd9) clean = false;
  return { metadataSegments, comment, baseline: baseline && scans === 1, components, clean };
}
