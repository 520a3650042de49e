/**
 * One photo, prepared as CONTRACT.md "Preparing a user's photos" says, as one sharp pipeline:
 * format from content, upright exactly once, every metadata block dropped, sRGB, longer side at
 * most 1440 (never enlarged), shorter side at least 512, baseline JPEG q95. A JPEG that is already
 * all of that is kept byte-for-byte, so a prepared set prepares to itself.
 */
import type { Metadata, Sharp, SharpConstructor, SharpOptions } from "sharp";
import { exifHasGps } from "./exif-gps.js";
import { heifExtentsInFile, heifTransforms } from "./heif-structure.js";
import { FORMAT_NAMES, sniffSourceFormat, unsupportedFormatMessage } from "./image-format.js";
import { readJpegStructure } from "./jpeg-structure.js";
import type { PrepareLimits } from "./limits.js";
import type { DatasetProblem, MetadataKind, SourceFormat } from "./types.js";

export interface PreparedImage {
  readonly ok: true;
  readonly format: SourceFormat;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly width: number;
  readonly height: number;
  readonly rotated: boolean;
  readonly metadataRemoved: readonly MetadataKind[];
  readonly converted: boolean;
  readonly jpeg: Buffer;
}

export interface RefusedImage {
  readonly ok: false;
  readonly format: SourceFormat | null;
  readonly sourceWidth: number | null;
  readonly sourceHeight: number | null;
  readonly problem: DatasetProblem;
}

type SharpModule = SharpConstructor;
let sharpModule: Promise<SharpModule> | undefined;

/** sharp (libvips) is loaded on first use, so commands that never prepare photos do not pay for it. */
export function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import("sharp").then((m) => m.default);
  return sharpModule;
}

const problem = (code: string, message: string): DatasetProblem => ({ code, message });

function refused(p: DatasetProblem, format: SourceFormat | null = null, size?: { width: number; height: number }): RefusedImage {
  return { ok: false, format, sourceWidth: size?.width ?? null, sourceHeight: size?.height ?? null, problem: p };
}

function damaged(format: SourceFormat, err: unknown): DatasetProblem {
  const why = (err as Error).message?.replace(/^Vips\w*:\s*/, "").split("\n")[0] ?? String(err);
  if (/pixel limit/i.test(why)) return problem("TOO_MANY_PIXELS", `has more pixels than sselfie reads (${why}): scale it down first`);
  return problem(
    "DAMAGED_IMAGE",
    `does not decode completely as a ${FORMAT_NAMES[format]} (${why}): it is damaged or cut short; copy it again from the phone or camera`,
  );
}

function metadataKinds(meta: Metadata, comment: boolean): MetadataKind[] {
  const kinds: MetadataKind[] = [];
  if (meta.exif && meta.exif.length > 0) {
    kinds.push("exif");
    if (exifHasGps(meta.exif)) kinds.push("gps");
  }
  if (meta.xmp && meta.xmp.length > 0) kinds.push("xmp");
  if (meta.iptc && meta.iptc.length > 0) kinds.push("iptc");
  if (meta.icc && meta.icc.length > 0) kinds.push("icc");
  if (comment || (meta.comments && meta.comments.length > 0)) kinds.push("comment");
  return kinds;
}

/** The upright size: HEIF/AVIF sizes are already after irot; EXIF 5-8 swap width and height. */
function uprightSize(meta: Metadata): { width: number; height: number } {
  if (meta.autoOrient) return { width: meta.autoOrient.width, height: meta.autoOrient.height };
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}

/** The size after scaling to fit `maxLongSide`, as sharp's `fit: "inside"` rounds it. */
function scaledSize(width: number, height: number, maxLongSide: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= maxLongSide) return { width, height };
  return width >= height
    ? { width: maxLongSide, height: Math.max(1, Math.round((height * maxLongSide) / width)) }
    : { width: Math.max(1, Math.round((width * maxLongSide) / height)), height: maxLongSide };
}

function tooSmall(source: { width: number; height: number }, scaled: { width: number; height: number }, min: number): DatasetProblem {
  const after =
    scaled.width === source.width && scaled.height === source.height ? "" : ` (${scaled.width}x${scaled.height} once scaled to fit 1440 px)`;
  return problem(
    "TOO_SMALL",
    `is ${source.width}x${source.height} px${after}: its shorter side is under the ${min} px the trainer needs; use a larger photo`,
  );
}

let libheifLogFiltered = false;

/**
 * libheif-js reports a failed decode with console.log besides rejecting; the SDK never prints,
 * so that one message (and only it) is dropped. Installed when the first HEIC is decoded.
 */
function filterLibheifLog(): void {
  if (libheifLogFiltered) return;
  libheifLogFiltered = true;
  const log = console.log;
  console.log = function (this: unknown, ...args: unknown[]) {
    if (args[0] === "Decoding image failed") return;
    log.apply(this, args);
  };
}

async function decodeHeif(sharp: SharpModule, bytes: Buffer, meta: Metadata, options: SharpOptions): Promise<Sharp> {
  if (!heifExtentsInFile(bytes)) throw new Error("the file is cut short: its image data reaches past its end");
  filterLibheifLog();
  const { default: decode } = await import("heic-decode");
  const images = await decode.all({ buffer: bytes });
  try {
    // The primary image is the one libvips describes; a HEIC may also hold thumbnails or bursts.
    const primary = images.find((i) => i.width === meta.width && i.height === meta.height) ?? images[0];
    if (!primary) throw new Error("no image in the file");
    const { width, height, data } = await primary.decode();
    const pixels = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return sharp(pixels, { ...options, raw: { width, height, channels: 4 } });
  } finally {
    images.dispose();
  }
}

/** Prepares one file's bytes; never throws for a bad image, only answers why it is refused. */
export async function prepareImage(bytes: Buffer, limits: PrepareLimits): Promise<PreparedImage | RefusedImage> {
  if (bytes.length === 0) return refused(problem("EMPTY_FILE", "is empty (0 bytes): copy the photo again"));
  const format = sniffSourceFormat(bytes.subarray(0, 64));
  if (!format) return refused(problem("UNSUPPORTED_FORMAT", unsupportedFormatMessage(bytes.subarray(0, 64))));
  const sharp = await loadSharp();
  const options: SharpOptions = { limitInputPixels: limits.maxPixels, failOn: "error", sequentialRead: true };

  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
  } catch (err) {
    return refused(damaged(format, err), format);
  }
  if (!meta.width || !meta.height) return refused(damaged(format, new Error("no image size in its header")), format);
  const source = uprightSize(meta);
  if (meta.width * meta.height > limits.maxPixels) {
    return refused(
      problem(
        "TOO_MANY_PIXELS",
        `is ${meta.width}x${meta.height} px, over ${limits.maxPixels / 1_000_000} megapixels (a decompression bomb?): scale it down first`,
      ),
      format,
      source,
    );
  }
  const scaled = scaledSize(source.width, source.height, limits.maxLongSide);
  if (Math.min(scaled.width, scaled.height) < limits.minShortSide) return refused(tooSmall(source, scaled, limits.minShortSide), format, source);

  const structure = format === "jpeg" ? readJpegStructure(bytes) : undefined;
  const metadataRemoved = metadataKinds(meta, structure?.comment ?? false);
  const rotated = format === "heif" || format === "avif" ? heifTransforms(bytes).rotated : (meta.orientation ?? 1) !== 1;
  const base = { ok: true as const, format, sourceWidth: source.width, sourceHeight: source.height, rotated, metadataRemoved };

  const compliant =
    structure !== undefined &&
    structure.metadataSegments === 0 &&
    structure.baseline &&
    structure.components === 3 &&
    structure.clean &&
    metadataRemoved.length === 0 &&
    !rotated &&
    scaled.width === source.width &&
    scaled.height === source.height;
  try {
    if (compliant) {
      // Decoded all the same (at 1/8 scale): a JPEG that does not decode to its end is not kept.
      await sharp(bytes, options).resize(64, 64, { fit: "inside" }).raw().toBuffer();
      return { ...base, width: source.width, height: source.height, converted: false, jpeg: bytes };
    }
    const image =
      format === "heif" ? await decodeHeif(sharp, bytes, meta, options) : sharp(bytes, { ...options, autoOrient: true });
    const { data, info } = await image
      .resize({ width: limits.maxLongSide, height: limits.maxLongSide, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .jpeg({ quality: limits.jpegQuality, progressive: false, chromaSubsampling: "4:2:0", mozjpeg: false })
      .toBuffer({ resolveWithObject: true });
    if (Math.min(info.width, info.height) < limits.minShortSide) {
      return refused(tooSmall(source, { width: info.width, height: info.height }, limits.minShortSide), format, source);
    }
    return { ...base, width: info.width, height: info.height, converted: true, jpeg: data };
  } catch (err) {
    return refused(damaged(format, err), format, source);
  }
}
