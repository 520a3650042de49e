/**
 * Which kind of file this is, by its first bytes. The three formats the trainer reads get a
 * parser; the rest get a name, so an operator with an iPhone's HEIC photos learns what to do.
 */
import { ascii } from "./stream-parser.js";
import type { ImageFormat } from "./types.js";

/** Enough bytes for every signature below (an ISO-BMFF `ftyp` box with a few brands). */
export const SNIFF_BYTES = 64;

function startsWith(head: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);
}

function startsWithText(head: Uint8Array, text: string, at = 0): boolean {
  return startsWith(head, [...text].map((c) => c.charCodeAt(0)), at);
}

export function sniffImageFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWithText(head, "RIFF") && startsWithText(head, "WEBP", 8)) return "webp";
  return undefined;
}

/** ISO base media files (HEIC, AVIF, MP4, MOV, CR3) name their brands in a leading `ftyp` box. */
function ftypBrands(head: Uint8Array): string[] {
  if (!startsWithText(head, "ftyp", 4)) return [];
  const boxSize = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const end = Math.min(head.length, Math.max(boxSize, 16));
  const brands = [ascii(head, 8, 12)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(head, at, at + 4));
  return brands;
}

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"]);

/** A short description of a file that is not a JPEG, PNG or WebP, when its kind is recognisable. */
export function describeOtherContent(head: Uint8Array): string | undefined {
  const brands = ftypBrands(head);
  if (brands.length > 0) {
    if (brands.some((b) => b === "avif" || b === "avis")) return "an AVIF image";
    if (brands.some((b) => HEIF_BRANDS.has(b) || b === "mif1" || b === "msf1")) return "a HEIC/HEIF image (the iPhone default)";
    if (brands[0] === "crx ") return "a camera raw file (CR3)";
    return "a video";
  }
  if (startsWithText(head, "GIF87a") || startsWithText(head, "GIF89a")) return "a GIF image";
  if (startsWithText(head, "BM") && [12, 40, 56, 108, 124].includes(head[14] ?? -1)) return "a BMP image";
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return "a TIFF image (or a camera raw file)";
  }
  if (startsWith(head, [0xff, 0x0a]) || startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return "a JPEG XL image";
  if (startsWithText(head, "8BPS")) return "a Photoshop document";
  if (startsWithText(head, "%PDF")) return "a PDF document";
  if (startsWithText(head, "PK\x03\x04")) return "a zip archive";
  if (startsWithText(head, "RIFF")) return "a RIFF file that is not WebP (audio or video)";
  return undefined;
}
