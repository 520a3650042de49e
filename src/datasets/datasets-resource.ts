/**
 * `sselfie.datasets`: preparing a user's photos. Needs neither the database nor Replicate, so it
 * works on an SDK object created with `database: false` (what `sselfie prepare` uses).
 */
import { mkdtemp, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ConfigError, InvalidInputError } from "../errors.js";
import { ensureDirectory } from "../fs-safety.js";
import { drawContactSheet } from "./contact-sheet.js";
import { CONTACT_SHEET_FILE, MANIFEST_FILE } from "./output-files.js";
import { INVALID_IMAGES } from "./preparation-failed.js";
import { prepareImageSet } from "./prepare-image-set.js";
import type { DatasetChecks, DatasetSummary, PreparedSet, PrepareProgress, PrepareReport } from "./types.js";

export interface PrepareParams {
  /** A folder of photos, or a .zip of them. */
  images: string;
  /**
   * Where the prepared images, `manifest.json` and `contact-sheet.png` are written; it must be
   * empty or absent. Without it, nothing is kept: the result is the report alone.
   */
  outDir?: string;
}

export interface PrepareOptions {
  /** Stops the preparation; temporary files are removed and nothing is left in `outDir`. */
  signal?: AbortSignal;
  onProgress?: (progress: PrepareProgress) => void;
}

export interface PrepareResult extends PrepareReport {
  /** The folder written (absolute), or null without `outDir`. */
  readonly outDir: string | null;
  readonly summary: DatasetSummary;
}

export interface DatasetsResourceOptions {
  /** Where a preparation without `outDir` works. */
  readonly tmpDir: string;
  /** Checks beyond preparation (the identity check). */
  readonly checks?: DatasetChecks<unknown>;
}


function requireImagesParam(images: unknown): string {
  if (typeof images !== "string" || images.trim() === "") {
    throw new InvalidInputError("images is required: a folder of photos or a .zip of them.", {}, INVALID_IMAGES);
  }
  return images;
}

/** `outDir` resolved, after checking that it is empty or absent. */
async function checkOutDir(outDir: string): Promise<{ path: string; exists: boolean }> {
  const path = resolve(outDir);
  try {
    const st = await stat(path);
    if (!st.isDirectory()) throw outDirRefused(path, "is a file, not a folder");
    if ((await readdir(path)).length > 0) throw outDirRefused(path, "is not empty");
    return { path, exists: true };
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return { path, exists: false };
    if (err instanceof InvalidInputError) throw err;
    throw outDirUnwritable(path, err);
  }
}

/**
 * The staging folder beside `outDir`, its parents made first. Folders are made one level at a time
 * and every error ends it: Node's recursive mkdir never returned for a path under /proc.
 */
async function makeStaging(outPath: string): Promise<string> {
  try {
    await ensureDirectory(dirname(outPath));
    return await mkdtemp(join(dirname(outPath), ".sselfie-prepare-"));
  } catch (err) {
    throw outDirUnwritable(outPath, err);
  }
}

function outDirUnwritable(path: string, err: unknown): InvalidInputError {
  return new InvalidInputError(
    `Cannot write the prepared photos to ${path}: ${(err as Error).message}. Choose another folder (--out).`,
    { outDir: path },
    "OUTPUT_DIR_UNWRITABLE",
  );
}

function outDirRefused(path: string, why: string): InvalidInputError {
  return new InvalidInputError(
    `The output folder ${path} ${why}: prepare writes into an empty or new folder; pass another --out.`,
    { outDir: path },
    "OUT_DIR_NOT_EMPTY",
  );
}

/**
 * Prepares into a fresh temporary folder, runs `use` on the result, and removes the folder
 * whatever happens (an error, an abort). What `train` uploads comes from here.
 */
export async function withPreparedSet<T>(
  images: string,
  options: DatasetsResourceOptions & PrepareOptions,
  use: (set: PreparedSet) => Promise<T>,
): Promise<T> {
  let dir: string;
  try {
    await ensureDirectory(options.tmpDir);
    dir = await mkdtemp(join(options.tmpDir, "sselfie-prepare-"));
  } catch (err) {
    throw new ConfigError(`Cannot use the temporary folder ${options.tmpDir} (TMPDIR): ${(err as Error).message}.`, { tmpDir: options.tmpDir });
  }
  try {
    const set = await prepareImageSet(requireImagesParam(images), {
      dir,
      checks: options.checks,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    return await use(set);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function result(set: PreparedSet, outDir: string | null): PrepareResult {
  return { ...set.report, outDir, summary: set.summary };
}

export function createDatasetsResource(resourceOptions: DatasetsResourceOptions) {
  return {
    /**
     * Prepares a folder or .zip of photos exactly as `trainings.start` does before uploading
     * (CONTRACT.md "Preparing a user's photos"). Resolves to the report whether or not the set is
     * usable (`ok`); rejects only for a bad `outDir`, an abort or an I/O failure.
     */
    async prepare(params: PrepareParams, options: PrepareOptions = {}): Promise<PrepareResult> {
      const images = requireImagesParam(params.images);
      if (params.outDir === undefined) {
        return withPreparedSet(images, { ...resourceOptions, ...options }, async (set) => result(set, null));
      }
      const out = await checkOutDir(params.outDir);
      // Written beside the destination, then renamed into place: an interrupted run leaves nothing.
      const staging = await makeStaging(out.path);
      try {
        const set = await prepareImageSet(images, {
          dir: staging,
          checks: resourceOptions.checks,
          signal: options.signal,
          onProgress: options.onProgress,
        });
        await writeFile(join(staging, MANIFEST_FILE), `${JSON.stringify(set.report, null, 2)}\n`);
        await writeFile(join(staging, CONTACT_SHEET_FILE), await drawContactSheet(set.report, set.written));
        options.signal?.throwIfAborted();
        if (out.exists) await rmdir(out.path);
        await rename(staging, out.path);
        return result(set, out.path);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}

export type DatasetsResource = ReturnType<typeof createDatasetsResource>;
