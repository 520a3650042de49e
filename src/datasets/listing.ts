import type { Readable } from "node:stream";
/** Where a listed file's bytes are read from. */
export type FileLocation =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "zip-entry"; readonly zipPath: string; readonly index: number; readonly headerOffset: number };

/** A file of the source that cannot be used at all (a subfolder, an unsafe zip path, a link outside). */
export interface ImageSetProblem {
  readonly file: string;
  readonly problem: string;
}

/** A file that may be an image or a caption, before its content is read. */
export interface Candidate {
  /** As the operator sees it: a name in the folder, or a path inside the zip. */
  readonly origin: string;
  /** Its name in the upload zip. */
  readonly name: string;
  /** As declared: by the file system, or by the zip's central directory. */
  readonly size: number;
  readonly location: FileLocation;
  readonly zip?: { readonly compressedSize: number; readonly crc32: number };
}

/** The files of a folder or zip, sorted out, and a way to read each one. */
export interface Listing {
  readonly candidates: readonly Candidate[];
  readonly ignored: readonly string[];
  readonly problems: readonly ImageSetProblem[];
  /** Problems about the source as a whole (unreadable, too many entries): nothing more is checked. */
  readonly fatal: readonly string[];
  open(candidate: Candidate): Promise<Readable>;
  close(): Promise<void>;
}
