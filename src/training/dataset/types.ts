export type ImageFormat = "jpeg" | "png" | "webp";

/** What an image's own headers say about it. */
export interface ImageInfo {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
}

/** Why a file cannot be used, in words an operator can act on. */
export interface ImageProblemResult {
  readonly problem: string;
}

export type DetectResult = ImageInfo | ImageProblemResult;

/** One entry of INVALID_IMAGES' `details.problems`; `file` is relative to the folder or zip. */
export interface ImageSetProblem {
  readonly file: string;
  readonly problem: string;
}

/** Where a checked file's bytes are read from again when it is packaged. */
export type FileLocation =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "zip-entry"; readonly zipPath: string; readonly index: number; readonly headerOffset: number };

interface DatasetFile {
  /** The name it gets in the upload zip: the original basename. */
  readonly name: string;
  /** Where the operator put it: a name in the folder or a path inside the zip. */
  readonly origin: string;
  readonly size: number;
  readonly sha256: string;
  readonly location: FileLocation;
}

export interface DatasetImage extends DatasetFile, ImageInfo {}

export interface DatasetCaption extends DatasetFile {
  /** The image it describes (same stem); the trainer reads `<stem>.txt`. */
  readonly imageName: string;
  readonly text: string;
}

/** A checked set of training images, ready to package; produced only by inspectImageSet. */
export interface ImageSet {
  readonly source: { readonly kind: "folder" | "zip"; readonly path: string };
  /** Sorted by name. */
  readonly images: readonly DatasetImage[];
  readonly captions: readonly DatasetCaption[];
  /** Hidden and system files that were skipped (`.DS_Store`, `._*`, `__MACOSX/`, ...). */
  readonly ignored: readonly string[];
  /** Bytes of images and captions together. */
  readonly totalBytes: number;
  /** The exact size of the zip packageImageSet writes. */
  readonly zipSize: number;
}

export type ManifestEntry =
  | { readonly name: string; readonly size: number; readonly sha256: string; readonly format: ImageFormat; readonly width: number; readonly height: number }
  | { readonly name: string; readonly size: number; readonly sha256: string; readonly format: "caption"; readonly imageName: string };

export interface PackagedImageSet {
  readonly zipPath: string;
  readonly zipSize: number;
  readonly zipSha256: string;
  /** Exactly the zip's entries, in the zip's order. */
  readonly manifest: readonly ManifestEntry[];
}
