/**
 * What the face model reads: an image decoded to RGB at a working size. The detector looks at
 * 512x512 anyway and the recognition net at a 150x150 crop, so a prepared image (up to 1440 px) is
 * scaled down first: decoding and the landmark pass get cheaper, and distances do not move
 * (bench/README.md, "Identity").
 */

export interface RgbPixels {
  /** width * height * 3 bytes, row by row. */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** The longer side the face model works at; faces are reported in the source image's pixels. */
export const FACE_WORKING_SIZE = 800;

export interface FacePixels {
  readonly pixels: RgbPixels;
  /** Source pixels per working pixel (>= 1). */
  readonly scale: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

/** Decodes an upright image (a prepared JPEG, or any format sharp reads) for the face model. */
export async function readFacePixels(image: Buffer | Uint8Array, workingSize = FACE_WORKING_SIZE): Promise<FacePixels> {
  // Loaded on use, like the face model: the SDK's other verbs never pay for sharp.
  const { default: sharp } = await import("sharp");
  const meta = await sharp(image).metadata();
  const sourceWidth = meta.width;
  const sourceHeight = meta.height;
  const { data, info } = await sharp(image)
    .resize(workingSize, workingSize, { fit: "inside", withoutEnlargement: true })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    pixels: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height },
    scale: Math.max(sourceWidth, sourceHeight) / Math.max(info.width, info.height),
    sourceWidth,
    sourceHeight,
  };
}
