/**
 * The zip that `train` uploads: exactly the prepared images, each a stored entry under its
 * `NN-<name>.jpg`, in name order, with fixed timestamps (zip-layout.ts), so
 * the same prepared set always gives a byte-identical zip. Each file is checked against the
 * sha256 it was prepared with while it streams into the zip.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ConfigError } from "../errors.js";
import { ZIP_ENTRY_OPTIONS } from "./zip-layout.js";
import type { PreparedSet } from "./types.js";

export interface PreparedManifestEntry {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly format: "jpeg";
  readonly width: number;
  readonly height: number;
  /** The file it was prepared from (a name in the folder, or a path inside the zip). */
  readonly source: string;
}

export interface PackagedPreparedSet {
  readonly zipPath: string;
  readonly zipSize: number;
  readonly zipSha256: string;
  /** Exactly the zip's entries, in the zip's order. */
  readonly manifest: readonly PreparedManifestEntry[];
}

function verified(path: string, sha256: string): Readable {
  const hash = createHash("sha256");
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      done(hash.digest("hex") === sha256 ? null : new Error(`${path} changed after it was prepared`));
    },
  });
  const source = createReadStream(path);
  source.on("error", (err) => check.destroy(err));
  return source.pipe(check);
}

/** Writes `<dir>/sselfie-images-<uuid>.zip`; the caller removes it when done. */
export async function packagePreparedSet(set: PreparedSet, dir: string): Promise<PackagedPreparedSet> {
  const { ZipFile } = await import("yazl");
  const files = [...set.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const reports = new Map(set.report.images.map((image) => [image.name, image]));
  const zipPath = join(dir, `sselfie-images-${randomUUID()}.zip`);
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  for (const file of files) {
    zip.addReadStreamLazy(file.name, { ...ZIP_ENTRY_OPTIONS, size: file.size }, (callback) => {
      const stream = verified(file.path, file.sha256);
      stream.on("error", (err) => output.destroy(err));
      callback(null, stream);
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
    await rm(zipPath, { force: true });
    throw new ConfigError(`Could not write the image zip in ${dir}: ${(err as Error).message}`, { dir }, "PACKAGING_FAILED");
  }
  const manifest = files.map((file) => {
    const report = reports.get(file.name)!;
    return { name: file.name, size: file.size, sha256: file.sha256, format: "jpeg" as const, width: report.width!, height: report.height!, source: report.source };
  });
  return { zipPath, zipSize, zipSha256: hash.digest("hex"), manifest };
}
