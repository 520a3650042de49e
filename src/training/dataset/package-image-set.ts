/**
 * Writes a checked image set into the zip that is uploaded to Replicate, streaming: each file is
 * read once more from its folder or zip, checked against the size and sha256 it had when it was
 * inspected (a file changed in between is refused, never silently uploaded), and piped through
 * yazl into a temporary file while the zip's own sha256 is computed. Memory stays at a few
 * stream buffers whatever the number and size of the images.
 */
import { randomUUID, createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Entry, ZipFile } from "yauzl";
import { ConfigError, SselfieError } from "../../errors.js";
import { invalidImages } from "./invalid-images.js";
import { openRegularFile } from "./list-folder.js";
import { YAUZL_OPTIONS } from "./list-zip.js";
import type { DatasetCaption, DatasetImage, ImageSet, ManifestEntry, PackagedImageSet } from "./types.js";
import { ZIP_ENTRY_OPTIONS } from "./zip-layout.js";

export interface PackageOptions {
  /** Where the zip is written; created if missing. The caller removes the zip when done with it. */
  readonly dir: string;
}

type DatasetFile = DatasetImage | DatasetCaption;

class ChangedFileError extends Error {
  constructor(readonly file: DatasetFile, readonly why: string) {
    super(`${file.origin} ${why}`);
  }
}

/** Passes a file's bytes on, refusing them if they are not exactly the ones inspected. */
class VerifyingStream extends Transform {
  private readonly hash = createHash("sha256");
  private bytes = 0;

  constructor(private readonly file: DatasetFile) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.file.size) return done(new ChangedFileError(this.file, "grew after it was checked"));
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.file.size || this.hash.digest("hex") !== this.file.sha256) {
      return done(new ChangedFileError(this.file, "changed after it was checked"));
    }
    done();
  }
}

interface SourceReader {
  open(file: DatasetFile): Promise<Readable>;
  close(): void;
}

async function openSource(set: ImageSet): Promise<SourceReader> {
  if (set.source.kind === "folder") {
    return {
      open: (file) => {
        if (file.location.kind !== "file") throw new Error("a folder's file has no file location");
        return openRegularFile(file.location.path);
      },
      close: () => undefined,
    };
  }
  const yauzl = await import("yauzl");
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(set.source.path, YAUZL_OPTIONS);
  } catch (err) {
    throw invalidImages(set.source.path, [{ file: set.source.path, problem: `could not be read again (${(err as Error).message})` }]);
  }
  const wanted = new Map<number, DatasetFile>();
  for (const file of [...set.images, ...set.captions]) {
    if (file.location.kind === "zip-entry") wanted.set(file.location.index, file);
  }
  const entries = new Map<DatasetFile, Entry>();
  try {
    let index = 0;
    for await (const entry of zip.eachEntry()) {
      const file = wanted.get(index++);
      if (file?.location.kind === "zip-entry" && file.location.headerOffset === entry.relativeOffsetOfLocalHeader) {
        entries.set(file, entry);
      }
    }
  } catch (err) {
    zip.close();
    throw err;
  }
  return {
    open: async (file) => {
      const entry = entries.get(file);
      if (!entry) throw new ChangedFileError(file, "is no longer in the zip");
      return (await zip.openReadStreamPromise(entry)) as Readable;
    },
    close: () => zip.close(),
  };
}

function rereadError(file: DatasetFile, err: unknown): ChangedFileError {
  return err instanceof ChangedFileError ? err : new ChangedFileError(file, `could not be read again (${(err as Error).message})`);
}

function manifestEntry(file: DatasetFile): ManifestEntry {
  const { name, size, sha256 } = file;
  return "format" in file
    ? { name, size, sha256, format: file.format, width: file.width, height: file.height }
    : { name, size, sha256, format: "caption", imageName: file.imageName };
}

function packagingError(set: ImageSet, dir: string, err: unknown): unknown {
  if (err instanceof SselfieError) return err;
  if (err instanceof ChangedFileError) {
    return invalidImages(set.source.path, [{ file: err.file.origin, problem: `${err.why}: check the images and run again` }]);
  }
  return new ConfigError(`Could not write the image zip in ${dir}: ${(err as Error).message}`, { dir }, "PACKAGING_FAILED");
}

/**
 * Packages an inspected set into `<dir>/sselfie-images-<uuid>.zip`: one stored entry per image
 * and caption, named by its original basename, in name order, with fixed timestamps, so equal
 * sets give byte-identical zips. Resolves to the zip's path, size and sha256 and the manifest
 * of its entries.
 */
export async function packageImageSet(set: ImageSet, options: PackageOptions | string): Promise<PackagedImageSet> {
  const dir = typeof options === "string" ? options : options.dir;
  const { ZipFile } = await import("yazl");
  const files: DatasetFile[] = [...set.images, ...set.captions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await mkdir(dir, { recursive: true });
  const zipPath = join(dir, `sselfie-images-${randomUUID()}.zip`);

  let source: SourceReader | undefined;
  try {
    source = await openSource(set);
    const reader = source;
    const zip = new ZipFile();
    const output = zip.outputStream as Readable;
    let failure: unknown;
    const fail = (err: unknown) => {
      failure ??= err;
      output.destroy(err as Error);
    };
    zip.on("error", fail);
    for (const file of files) {
      zip.addReadStreamLazy(file.name, { ...ZIP_ENTRY_OPTIONS, size: file.size }, (callback) => {
        reader.open(file).then(
          (stream) => {
            const verified = new VerifyingStream(file);
            stream.on("error", (err) => verified.destroy(rereadError(file, err)));
            verified.on("error", fail);
            callback(null, stream.pipe(verified));
          },
          (err: unknown) => fail(rereadError(file, err)),
        );
      });
    }
    zip.end();

    const hash = createHash("sha256");
    let zipSize = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        zipSize += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(output, measure, createWriteStream(zipPath, { flags: "wx", mode: 0o600 }));
    } catch (err) {
      throw failure ?? err;
    }
    return { zipPath, zipSize, zipSha256: hash.digest("hex"), manifest: files.map(manifestEntry) };
  } catch (err) {
    await rm(zipPath, { force: true });
    throw packagingError(set, dir, err);
  } finally {
    source?.close();
  }
}
