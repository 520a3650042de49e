/**
 * Which format a file is, from its first bytes (never its name). HEIF and AVIF share the ISO base
 * media `ftyp` box and are told apart by their brands.
 */
import type { SourceFormat } from "./types.js";

export const FORMAT_NAMES: Record<SourceFormat, string> = { jpeg: "JPEG", png: "PNG", webp: "WebP", heif: "HEIC/HEIF", avif: "AVIF" };
export const ACCEPTED_FORMATS = "JPEG, PNG, WebP, HEIC/HEIF or AVIF";

/** Enough bytes for every signature below (an ISO-BMFF `ftyp` box with a few brands). */
export const SNIFF_BYTES = 64;

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"]);
const AVIF_BRANDS = new Set(["avif", "avis"]);

function has(head: Uint8Array, text: string, at = 0): boolean {
  if (head.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Brands of a leading `ftyp` box: the major brand, then the compatible ones. */
function ftypBrands(head: Uint8Array): string[] {
  if (!has(head, "ftyp", 4)) return [];
  const size = Buffer.from(head.buffer, head.byteOffset, head.length).readUInt32BE(0);
  const end = Math.min(head.length, Math.max(size, 16));
  const brands: string[] = [];
  for (let at = 8; at + 4 <= end; at += at === 8 ? 8 : 4) brands.push(Buffer.from(head.subarray(at, at + 4)).toString("latin1"));
  return brands;
}

export function sniffSourceFormat(head: Uint8Array): SourceFormat | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (has(head, "\x89PNG\r\n\x1a\n")) return "png";
  if (has(head, "RIFF") && has(head, "WEBP", 8)) return "webp";
  const brands = ftypBrands(head);
  if (brands.some((b) => AVIF_BRANDS.has(b))) return "avif";
  if (brands.some((b) => HEIF_BRANDS.has(b))) return "heif";
  return undefined;
}

/** A short description of a file that is not an accepted image, when its kind is recognisable. */
export function describeOtherContent(head: Uint8Array): string | undefined {
  const brands = ftypBrands(head);
  if (brands.length > 0) return brands[0] === "crx " ? "a camera raw file (CR3)" : "a video";
  if (has(head, "GIF87a") || has(head, "GIF89a")) return "a GIF image";
  if (has(head, "BM") && [12, 40, 56, 108, 124].includes(head[14] ?? -1)) return "a BMP image";
  if (has(head, "II*\x00") || has(head, "MM\x00*")) {
    return "a TIFF image (or a camera raw file)";
  }
  if ((head[0] === 0xff && head[1] === 0x0a) || has(head, "\x00\x00\x00\x0cJXL ")) return "a JPEG XL image";
  if (has(head, "8BPS")) return "a Photoshop document";
  if (has(head, "%PDF")) return "a PDF document";
  if (has(head, "PK\x03\x04")) return "a zip archive";
  if (has(head, "RIFF")) return "a RIFF file that is not WebP (audio or video)";
  return undefined;
}

/** Why a file is not an accepted image, naming what it seems to be. */
export function unsupportedFormatMessage(head: Uint8Array): string {
  const kind = describeOtherContent(head);
  return kind
    ? `is ${kind}, not a ${ACCEPTED_FORMATS} image: convert it to JPEG`
    : `is not a ${ACCEPTED_FORMATS} image (its content is none of these, whatever its name says): replace it with a photo`;
}
