/**
 * What the pipeline reads, before any image is decoded: folders and zips that try to escape,
 * damaged or hostile zip entries, links, pipes, too many entries, byte budgets. (These guards
 * predate the preparation pipeline, in src/training/dataset; their tests moved with them.)
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { PrepareLimits } from "../../src/datasets/limits.js";
import { prepareImageSet } from "../../src/datasets/prepare-image-set.js";
import { readBytes } from "../../src/datasets/read-checked.js";
import { buildZip, goodImages, makePng, writeFiles, zeros, zipEntries } from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

const root = tempDir("sselfie-sources-");
let counter = 0;
const fresh = (name: string) => join(root, `${++counter}-${name}`);
const ten = goodImages(10, { mixed: true });

interface Found {
  file: string;
  code: string;
  message: string;
}

/** Every problem of the prepared set: per file (file = its source), then the set's (file = "set"). */
async function problemsOf(path: string, limits?: Partial<PrepareLimits>): Promise<Found[]> {
  const { report } = await prepareImageSet(path, { dir: tempDir("sselfie-sources-out-"), limits });
  expect(report.ok).toBe(false);
  return [
    ...report.images.flatMap((i) => i.problems.map((p) => ({ file: i.source, code: p.code, message: p.message }))),
    ...report.problems.map((p) => ({ file: "set", code: p.code, message: p.message })),
  ];
}

function writeZip(name: string, entries: Parameters<typeof buildZip>[0]): string {
  const path = fresh(name);
  writeFileSync(path, buildZip(entries));
  return path;
}

const unusable = (file: string, message: string): Found => ({ file, code: "UNUSABLE_FILE", message });

describe("zips and folders that try to escape", () => {
  it("refuses zip entries with .., absolute, drive-letter or backslash paths, and symbolic links", async () => {
    const png = () => makePng({ width: 600, height: 600, seed: 80 + counter++ });
    const path = writeZip("escape.zip", [
      ...zipEntries(ten),
      { name: "../evil.png", data: png() },
      { name: "photos/../../evil2.png", data: png() },
      { name: "/etc/evil.png", data: png() },
      { name: "C:/Windows/evil.png", data: png() },
      { name: "C:\\Windows\\evil.png", data: png() },
      { name: "link.png", data: Buffer.from("/etc/passwd"), mode: 0o120777 },
    ]);
    const unsafe = (file: string, why: string) => unusable(file, `unsafe path in the zip: ${why}; an archive of photos has no such entry`);
    expect(await problemsOf(path)).toEqual([
      unsafe("../evil.png", 'it climbs out of the archive ("..")'),
      unsafe("/etc/evil.png", "it is an absolute path"),
      unsafe("C:/Windows/evil.png", "it is an absolute Windows path"),
      unsafe("C:\\Windows\\evil.png", "its name contains backslashes (a Windows path)"),
      unusable("link.png", "is a symbolic link; the zip must hold the image files themselves"),
      unsafe("photos/../../evil2.png", 'it climbs out of the archive ("..")'),
    ]);
  });

  it("refuses images in subfolders of a zip unless they all share one top folder", async () => {
    const path = writeZip("nested.zip", [...zipEntries(ten), { name: "more/a.png", data: makePng({ width: 600, height: 600, seed: 71 }) }]);
    expect(await problemsOf(path)).toEqual([
      unusable("more/a.png", "is in a subfolder of the zip: put the images at the top of the zip (or all in one folder)"),
    ]);
  });

  it("refuses an encrypted entry and one whose CRC does not match", async () => {
    const path = writeZip("damaged.zip", [
      ...zipEntries(ten),
      { name: "secret.png", data: makePng({ width: 600, height: 600, seed: 60 }), encrypted: true },
      { name: "rot.png", data: makePng({ width: 600, height: 600, seed: 61 }), crc: 1234 },
    ]);
    expect(await problemsOf(path)).toEqual([
      { file: "rot.png", code: "UNREADABLE", message: "is damaged in the zip (its CRC-32 does not match)" },
      unusable("secret.png", "is encrypted; zip the images without a password"),
    ]);
  });

  it("follows a symbolic link only to a regular file inside the folder", async () => {
    const outside = writeFiles(fresh("outside"), [["secret.png", makePng({ width: 600, height: 600, seed: 62 })]]);
    const dir = writeFiles(fresh("links"), ten);
    symlinkSync(join(outside, "secret.png"), join(dir, "out.png"));
    symlinkSync(join(dir, "img-01.png"), join(dir, "in.png"));
    symlinkSync(join(dir, "gone.png"), join(dir, "dangling.png"));
    symlinkSync(outside, join(dir, "folder-link"));
    expect(await problemsOf(dir)).toEqual([
      unusable("dangling.png", "is a symbolic link to nothing (its target does not exist)"),
      unusable("folder-link", `is a symbolic link leading outside the folder (to ${outside}): copy the image into the folder instead`),
      // Followed inside the folder, where its content is checked like any file's: a duplicate.
      { file: "in.png", code: "DUPLICATE", message: "is byte-identical to img-01.png: remove one of the two" },
      unusable("out.png", `is a symbolic link leading outside the folder (to ${join(outside, "secret.png")}): copy the image into the folder instead`),
    ]);
  });
});

describe("bombs and budgets", () => {
  it("refuses a zip entry declaring a compression ratio over 100:1 without inflating it", async () => {
    const path = writeZip("ratio.zip", [...zipEntries(ten), { name: "bomb.png", data: zeros(20_000_000) }]);
    const [found, ...rest] = await problemsOf(path);
    expect(rest).toEqual([]);
    expect(found).toMatchObject({ file: "bomb.png", code: "ZIP_BOMB" });
    expect(found!.message).toMatch(/^declares 20\.0 MB compressed into \d+\.\d kB, more than 100 to 1 \(a zip bomb\?\)/);
  });

  it("refuses an entry that inflates beyond the size its headers declare", async () => {
    const data = makePng({ width: 1000, height: 1000, seed: 63, noise: true, level: 0 });
    const path = writeZip("liar.zip", [...zipEntries(ten), { name: "liar.png", data, declaredSize: 50_000 }]);
    expect(await problemsOf(path)).toEqual([
      { file: "liar.png", code: "ZIP_BOMB", message: "inflates to more bytes than the zip declares for it (a zip bomb, or a damaged zip)" },
    ]);
  });

  it("refuses a zip or folder with too many entries before reading any", async () => {
    const many = new Map([...goodImages(12)]);
    const zip = writeZip("many.zip", zipEntries(many));
    expect(await problemsOf(zip, { maxEntries: 11 })).toEqual([
      { file: "set", code: "SOURCE_UNUSABLE", message: `${zip} holds 12 entries; at most 11 are read: zip only the training images` },
    ]);
    const dir = writeFiles(fresh("many"), many);
    expect(await problemsOf(dir, { maxEntries: 11 })).toEqual([
      { file: "set", code: "SOURCE_UNUSABLE", message: `${dir} holds 12 files; at most 11 are read: keep only the training images in it` },
    ]);
  });

  it("stops reading once the whole set has read more than its budget", async () => {
    const dir = writeFiles(fresh("budget"), ten);
    const found = await problemsOf(dir, { maxBytesRead: 1_000_000 });
    expect(found.some((f) => f.code === "NOT_READ")).toBe(true);
    expect(found.filter((f) => f.file === "set").map((f) => f.code)).toEqual(["SET_TOO_LARGE", "TOO_FEW_IMAGES"]);
  });
});

describe("reading counts the bytes that arrive, not the ones declared", () => {
  /** A PNG's signature and IHDR, then an IDAT chunk announcing 2 GB, then zeros for ever. */
  function endlessPng(seen: { chunks: number }): () => Promise<Readable> {
    const head = Buffer.concat([makePng({ width: 600, height: 600 }).subarray(0, 33), Buffer.from([0x7f, 0xff, 0, 0]), Buffer.from("IDAT")]);
    const zeros64k = Buffer.alloc(64 * 1024);
    return async () =>
      Readable.from(
        (function* () {
          yield head;
          for (;;) {
            seen.chunks++;
            yield zeros64k;
          }
        })(),
      );
  }

  it("stops a stream that exceeds the byte cap", async () => {
    const seen = { chunks: 0 };
    const read = await readBytes(endlessPng(seen), { maxBytes: 1_000_000 });
    expect(read).toMatchObject({ ok: false, problem: "is larger than the 1.0 MB allowed" });
    expect(read.bytesRead).toBeLessThan(1_100_000);
    expect(seen.chunks).toBeLessThan(20);
  });

  it("stops a zip entry inflating past 100 times its compressed size, whatever it declared", async () => {
    const seen = { chunks: 0 };
    const read = await readBytes(endlessPng(seen), {
      maxBytes: 100_000_000,
      zip: { compressedSize: 1000, crc32: 0, maxRatio: 100, ratioFloor: 0 },
    });
    expect(read).toMatchObject({ ok: false, problem: "inflates to more than 100 times its compressed size (a zip bomb?)" });
    expect(read.bytesRead).toBeLessThan(200_000);
  });
});

describe("the folder itself", () => {
  it("reports a subfolder by name and an empty folder as too few images", async () => {
    const dir = fresh("empty");
    mkdirSync(join(dir, "rejected"), { recursive: true });
    expect(await problemsOf(dir)).toEqual([
      unusable("rejected", "is a subfolder: only the files directly in the folder are used; move its images up, or move it out"),
      { file: "set", code: "TOO_FEW_IMAGES", message: expect.stringContaining("at least 10") as unknown as string },
    ]);
  });

  it("refuses a named pipe without opening it (opening one would block)", async () => {
    const dir = writeFiles(fresh("fifo"), ten);
    expect(spawnSync("mkfifo", [join(dir, "pipe.png")]).status).toBe(0);
    expect(await problemsOf(dir)).toEqual([unusable("pipe.png", "is not a regular file (a device, pipe or socket)")]);
  });

  it("reads an image by its content whatever its extension says", async () => {
    const dir = writeFiles(fresh("ext"), goodImages(10));
    copyFileSync(join(dir, "img-01.png"), join(dir, "img-01-copy.webp"));
    expect(await problemsOf(dir)).toEqual([
      { file: "img-01.png", code: "DUPLICATE", message: "is byte-identical to img-01-copy.webp: remove one of the two" },
    ]);
  });
});
