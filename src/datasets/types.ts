/**
 * The shapes of a prepared photo set: the report (`prepare --json` and `manifest.json`, exactly as
 * CONTRACT.md "What is reported" writes them) and the hooks through which per-image and per-set
 * checks (the identity check) plug into the pipeline.
 */

/** The source formats sselfie reads; everything is written as a baseline JPEG. */
export type SourceFormat = "jpeg" | "png" | "webp" | "heif" | "avif";

/** One problem, with a stable UPPER_SNAKE `code` and a message that says what to do. */
export interface DatasetProblem {
  readonly code: string;
  readonly message: string;
}

/** The main face of a prepared image; `box` is `[x, y, width, height]` in prepared-image pixels. */
export interface FaceInfo {
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  /** Distance to the set's reference face; null until the set was compared. */
  readonly distance: number | null;
}

/** Kinds of metadata a source carried, as listed in `metadataRemoved`. */
export type MetadataKind = "exif" | "gps" | "xmp" | "iptc" | "icc" | "comment";

/** One file of the set, as reported. Fields are null when the file could not be prepared that far. */
export interface PreparedImageReport {
  /** Where the operator put it: a name in the folder, or a path inside the zip. */
  readonly source: string;
  readonly sourceSha256: string | null;
  /** `NN-<name>.jpg`, the name it is written and uploaded under. */
  readonly name: string | null;
  readonly sha256: string | null;
  /** The source's format, from its content. */
  readonly format: SourceFormat | null;
  readonly width: number | null;
  readonly height: number | null;
  /** Upright size of the source, before scaling. */
  readonly sourceWidth: number | null;
  readonly sourceHeight: number | null;
  /** Whether an orientation (EXIF, or HEIF's irot/imir) was baked into the pixels. */
  readonly rotated: boolean;
  readonly metadataRemoved: readonly MetadataKind[];
  /** False only when the source was kept byte-for-byte. */
  readonly converted: boolean;
  readonly face: FaceInfo | null;
  readonly problems: readonly DatasetProblem[];
}

/** The whole report: `ok` when every image is usable and the set passes its own rules. */
export interface PrepareReport {
  readonly ok: boolean;
  /** Usable (prepared, problem-free) images. */
  readonly count: number;
  readonly images: readonly PreparedImageReport[];
  /** Problems of the set as a whole. */
  readonly problems: readonly DatasetProblem[];
}

/** What a per-image check receives: one prepared image, already written. */
export interface PreparedImageForCheck {
  /** Position in `report.images` (0-based). */
  readonly index: number;
  readonly name: string;
  /** Absolute path of the prepared JPEG (upright, sRGB, longer side <= 1440). */
  readonly path: string;
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  readonly signal?: AbortSignal;
}

export interface ImageCheckResult<D = unknown> {
  readonly face: FaceInfo | null;
  readonly problems: readonly DatasetProblem[];
  /** Kept for the set check (e.g. a face descriptor); never reported. */
  readonly data?: D;
}

export interface SetCheckImage<D = unknown> {
  readonly index: number;
  readonly name: string;
  readonly face: FaceInfo | null;
  readonly data: D | undefined;
}

export interface SetCheckResult {
  /** Merged into the images' reports: `face` replaces theirs, `problems` are added. */
  readonly images: readonly { readonly index: number; readonly face?: FaceInfo | null; readonly problems?: readonly DatasetProblem[] }[];
  readonly problems: readonly DatasetProblem[];
}

/**
 * Checks beyond preparation. `checkImage` runs on each prepared image inside the pipeline's
 * decode slot (at most 2 at once); `checkSet` runs once on the images without problems.
 */
export interface DatasetChecks<D = unknown> {
  checkImage?(image: PreparedImageForCheck): Promise<ImageCheckResult<D>>;
  checkSet?(images: readonly SetCheckImage<D>[], options: { readonly signal?: AbortSignal }): Promise<SetCheckResult>;
}

/** Progress of a preparation, for a progress bar. */
export interface PrepareProgress {
  readonly done: number;
  readonly total: number;
  /** The file just finished. */
  readonly source?: string;
}

/** A prepared set on disk: the report, and the usable images in upload order. */
export interface PreparedSet {
  readonly report: PrepareReport;
  /** Folder the prepared images were written to. */
  readonly dir: string;
  /** Usable images, in name order: what is uploaded. */
  readonly files: readonly { readonly name: string; readonly path: string; readonly size: number; readonly sha256: string }[];
  /** Every prepared image (usable or not), for the contact sheet. */
  readonly written: readonly { readonly index: number; readonly path: string }[];
  /** Summary for `train --json`'s `dataset`. */
  readonly summary: DatasetSummary;
}

export interface DatasetSummary {
  readonly count: number;
  readonly converted: number;
  readonly resized: number;
  readonly rotated: number;
  readonly metadataRemoved: number;
  /** Size of the zip of the usable images (stored entries). */
  readonly zipBytes: number;
}
