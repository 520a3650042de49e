/**
 * The files of a zip archive, from its central directory, before any entry is inflated.
 *
 * Nothing is ever extracted to disk, yet an entry whose path could escape the folder it is
 * unpacked into (`..`, absolute, drive letter, backslashes) or a symbolic link is refused: such
 * an archive was not made by zipping a folder of photos. The trainer unpacks our zip, not this
 * one, but the operator should learn that this archive is not what they think.
 *
 * Images may sit at the top of the zip, or all inside one folder (what "compress this folder"
 * produces); deeper folders are refused like subfolders of a folder.
 */
import type { Readable } from "node:stream";
import type { Entry, ZipFile } from "yauzl";
import { baseName, isIgnoredPath, unsafeZipPath } from "./entry-names.js";
import type { PrepareLimits } from "./limits.js";
import type { Candidate, ImageSetProblem, Listing } from "./listing.js";

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;

/** yauzl options: names are decoded and checked by us, so one bad entry does not hide the others. */
export const YAUZL_OPTIONS = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true } as const;

export function isSymlinkEntry(entry: Entry): boolean {
  return entry.versionMadeBy >> 8 === MADE_BY_UNIX && ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

type Yauzl = typeof import("yauzl");

function decodeEntryName(yauzl: Yauzl, entry: Entry): string {
  // strictFileNames keeps backslashes as they are, so that they can be refused.
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

function describeZipError(err: unknown): string {
  return `is not a readable zip archive (${(err as Error).message})`;
}

/** Drops the one folder every file shares, when they all share one. */
function commonFolder(paths: readonly string[]): string {
  const firsts = new Set(paths.map((p) => (p.includes("/") ? p.slice(0, p.indexOf("/") + 1) : "")));
  const [only] = firsts;
  return firsts.size === 1 && only !== undefined ? only : "";
}

export async function listZip(zipPath: string, limits: PrepareLimits): Promise<Listing> {
  const yauzl = await import("yauzl");
  const candidates: Candidate[] = [];
  const ignored: string[] = [];
  const problems: ImageSetProblem[] = [];
  const fatal: string[] = [];
  const entries = new Map<number, Entry>();
  let zip: ZipFile | undefined;
  const listing: Listing = {
    candidates,
    ignored,
    problems,
    fatal,
    open: async (c) => {
      const entry = c.location.kind === "zip-entry" ? entries.get(c.location.index) : undefined;
      if (!zip || !entry) throw new Error("not an entry of this zip");
      return (await zip.openReadStreamPromise(entry)) as Readable;
    },
    close: async () => zip?.close(),
  };

  try {
    zip = await yauzl.openPromise(zipPath, YAUZL_OPTIONS);
  } catch (err) {
    fatal.push(describeZipError(err));
    return listing;
  }
  if (zip.entryCount > limits.maxEntries) {
    fatal.push(`holds ${zip.entryCount} entries; at most ${limits.maxEntries} are read: zip only the training images`);
    return listing;
  }

  const files: { path: string; entry: Entry; index: number }[] = [];
  let index = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const i = index++;
      const path = decodeEntryName(yauzl, entry);
      const problem = (text: string) => problems.push({ file: path, problem: text });
      const unsafe = unsafeZipPath(path);
      if (unsafe !== undefined) problem(`unsafe path in the zip: ${unsafe}; an archive of photos has no such entry`);
      else if (path.endsWith("/")) continue;
      else if (isIgnoredPath(path)) ignored.push(path);
      else if (isSymlinkEntry(entry)) problem("is a symbolic link; the zip must hold the image files themselves");
      else if (entry.isEncrypted()) problem("is encrypted; zip the images without a password");
      else if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        problem(`uses compression method ${entry.compressionMethod}, which is not supported; zip it with ordinary (deflate) compression`);
      } else files.push({ path, entry, index: i });
    }
  } catch (err) {
    fatal.push(describeZipError(err));
    return listing;
  }

  const folder = commonFolder(files.map((f) => f.path));
  for (const { path, entry, index: i } of files) {
    if (path.slice(folder.length).includes("/")) {
      problems.push({
        file: path,
        problem: "is in a subfolder of the zip: put the images at the top of the zip (or all in one folder)",
      });
      continue;
    }
    entries.set(i, entry);
    candidates.push({
      origin: path,
      name: baseName(path),
      size: entry.uncompressedSize,
      location: { kind: "zip-entry", zipPath, index: i, headerOffset: entry.relativeOffsetOfLocalHeader },
      zip: { compressedSize: entry.compressedSize, crc32: entry.crc32 },
    });
  }
  return listing;
}
