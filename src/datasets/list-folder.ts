/**
 * The files directly in a folder. Subfolders are refused rather than read: a folder inside the
 * training folder is more often something set aside ("rejected/", "originals/") than more photos.
 * A symbolic link is followed only to a regular file inside the folder (its content is then
 * checked like any other file, so a link to a photo already there is caught as a duplicate);
 * a link leading outside the folder is refused, since what it uploads is not what was handed over.
 */
import { constants } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { isIgnoredName } from "./entry-names.js";
import type { PrepareLimits } from "./limits.js";
import type { Candidate, ImageSetProblem, Listing } from "./listing.js";

const READ_CHUNK = 256 * 1024;
// O_NOFOLLOW: a file swapped for a symbolic link after it was listed is not followed.
// O_NONBLOCK: one swapped for a named pipe does not block the open (it is then refused by fstat).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

export async function openRegularFile(path: string): Promise<Readable> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    if (!(await handle.stat()).isFile()) throw Object.assign(new Error("not a regular file"), { code: "ENOTFILE" });
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle.createReadStream({ highWaterMark: READ_CHUNK });
}

const SUBFOLDER = "is a subfolder: only the files directly in the folder are used; move its images up, or move it out";

/** `root` is the folder's real path. */
export async function listFolder(root: string, limits: PrepareLimits): Promise<Listing> {
  const candidates: Candidate[] = [];
  const ignored: string[] = [];
  const problems: ImageSetProblem[] = [];
  const fatal: string[] = [];
  const listing: Listing = {
    candidates,
    ignored,
    problems,
    fatal,
    open: async (c) => {
      if (c.location.kind !== "file") throw new Error("not a file of this folder");
      return openRegularFile(c.location.path);
    },
    close: async () => undefined,
  };

  let names: string[];
  try {
    names = (await readdir(root)).sort();
  } catch (err) {
    fatal.push(`cannot be read (${(err as Error).message})`);
    return listing;
  }
  const visible = names.filter((name) => !isIgnoredName(name));
  ignored.push(...names.filter((name) => isIgnoredName(name)));
  if (visible.length > limits.maxEntries) {
    fatal.push(`holds ${visible.length} files; at most ${limits.maxEntries} are read: keep only the training images in it`);
    return listing;
  }

  for (const name of visible) {
    const path = join(root, name);
    const problem = (text: string) => problems.push({ file: name, problem: text });
    try {
      const link = await lstat(path);
      if (link.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(path);
        } catch {
          problem("is a symbolic link to nothing (its target does not exist)");
          continue;
        }
        if (!isInside(root, target)) {
          problem(`is a symbolic link leading outside the folder (to ${target}): copy the image into the folder instead`);
          continue;
        }
        const st = await stat(target);
        if (st.isDirectory()) problem(SUBFOLDER);
        else if (!st.isFile()) problem("is a symbolic link to something that is not a regular file");
        else candidates.push({ origin: name, name, size: st.size, location: { kind: "file", path: target } });
      } else if (link.isDirectory()) {
        problem(SUBFOLDER);
      } else if (!link.isFile()) {
        problem("is not a regular file (a device, pipe or socket)");
      } else {
        candidates.push({ origin: name, name, size: link.size, location: { kind: "file", path } });
      }
    } catch (err) {
      problem(`cannot be read (${(err as Error).message})`);
    }
  }
  return listing;
}
