import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { inspectImageSet, type ImageSetProblem, type InspectOptions } from "../../src/training/dataset/index.js";
import { readImage } from "../../src/training/dataset/read-checked.js";
import {
  buildZip,
  corruptPngData,
  goodImages,
  jpegWithoutEoi,
  makeGif,
  makeHeic,
  makeJpeg,
  makePng,
  truncate,
  writeFiles,
  zeros,
  zipEntries,
} from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

const root = tempDir("sselfie-dataset-");
let counter = 0;
const fresh = (name: string) => join(root, `${++counter}-${name}`);

const ten = goodImages(10, { mixed: true });

/** The problems inspectImageSet reports, after checking they come as one INVALID_IMAGES error. */
async function problemsOf(path: string, options?: InspectOptions): Promise<ImageSetProblem[]> {
  const err = await inspectImageSet(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  const error = err as InvalidInputError;
  expect(error.code).toBe("INVALID_IMAGES");
  const problems = error.details.problems as ImageSetProblem[];
  for (const p of problems) expect(error.message).toContain(`  ${p.file}: ${p.problem}`);
  return problems;
}

function writeZip(name: string, entries: Parameters<typeof buildZip>[0]): string {
  const path = fresh(name);
  writeFileSync(path, buildZip(entries));
  return path;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("inspectImageSet: a good set", () => {
  it("accepts a folder of 10 JPEG, PNG and WebP images with captions, skipping system files", async () => {
    const dir = writeFiles(fresh("good"), [
      ...ten,
      ["img-01.txt", "a photo of user42 smiling"],
      ["img-02.txt", "a photo of user42 outdoors"],
      [".DS_Store", "finder"],
      ["._img-01.png", "resource fork"],
      ["Thumbs.db", "windows"],
    ]);
    const set = await inspectImageSet(dir);

    expect(set.source).toEqual({ kind: "folder", path: dir });
    expect(set.images.map((i) => [i.name, i.format, i.width, i.height])).toEqual(
      [...ten.keys()].sort().map((name) => [name, { png: "png", jpg: "jpeg", webp: "webp" }[name.split(".")[1]!], 512, 640]),
    );
    for (const image of set.images) {
      expect(image.sha256).toBe(sha256(ten.get(image.name)!));
      expect(image.size).toBe(ten.get(image.name)!.length);
    }
    expect(set.captions.map((c) => [c.name, c.imageName, c.text])).toEqual([
      ["img-01.txt", "img-01.png", "a photo of user42 smiling"],
      ["img-02.txt", "img-02.jpg", "a photo of user42 outdoors"],
    ]);
    expect([...set.ignored].sort()).toEqual([".DS_Store", "._img-01.png", "Thumbs.db"]);
    const files = [...ten.values()].reduce((n, b) => n + b.length, 0) + 25 + 26;
    expect(set.totalBytes).toBe(files);
  });

  it("accepts a zip made by compressing a folder on a Mac (one top folder, __MACOSX, .DS_Store)", async () => {
    const path = writeZip("mac.zip", [
      { name: "photos/", data: Buffer.alloc(0), method: 0 },
      ...zipEntries(ten, "photos/"),
      { name: "photos/.DS_Store", data: Buffer.from("finder") },
      { name: "__MACOSX/photos/._img-01.png", data: Buffer.from("fork") },
    ]);
    const set = await inspectImageSet(path);
    expect(set.source.kind).toBe("zip");
    expect(set.images.map((i) => [i.origin, i.name])).toEqual([...ten.keys()].sort().map((n) => [`photos/${n}`, n]));
    expect(set.images.every((i) => i.sha256 === sha256(ten.get(i.name)!))).toBe(true);
    expect(set.ignored).toEqual(["photos/.DS_Store", "__MACOSX/photos/._img-01.png"]);
  });

  it("accepts a zip whose images sit at its top, stored or deflated", async () => {
    const entries = zipEntries(ten).map((e, i) => ({ ...e, method: (i % 2 ? 0 : 8) as 0 | 8 }));
    const set = await inspectImageSet(writeZip("flat.zip", entries));
    expect(set.images).toHaveLength(10);
  });
});

describe("inspectImageSet: every problem at once", () => {
  it("names each bad file with its problem, then the set's problems, in one error", async () => {
    const eight = goodImages(8);
    const dir = writeFiles(fresh("bad"), [
      ...eight,
      ["photo.heic", makeHeic()],
      ["anim.gif", makeGif()],
      ["cut.png", truncate(makePng({ width: 600, height: 600, seed: 90 }), 2000)],
      ["crc.png", corruptPngData(makePng({ width: 600, height: 600, seed: 91 }))],
      ["noeoi.jpg", jpegWithoutEoi(makeJpeg({ width: 600, height: 600, seed: 92 }))],
      ["small.png", makePng({ width: 400, height: 600, seed: 93 })],
      ["copy.png", eight.get("img-01.png")!],
      ["notes.pdf", "%PDF-1.4 not a photo"],
      ["photo.jfif", makeJpeg({ width: 600, height: 600, seed: 94 })],
      ["orphan.txt", "a caption whose photo was deleted"],
      ["LOUD.TXT", "shouting"],
      ["sub/inner.png", makePng({ width: 600, height: 600, seed: 95 })],
      [".DS_Store", "ignored"],
    ]);

    expect(await problemsOf(dir)).toEqual([
      { file: "LOUD.TXT", problem: 'captions must end in lowercase .txt (the trainer reads "LOUD.txt"): rename it' },
      { file: "anim.gif", problem: "a GIF image, not a JPEG, PNG or WebP: convert it to JPEG, PNG or WebP" },
      { file: "crc.png", problem: "corrupt PNG: bad CRC in the IDAT chunk (the file is damaged)" },
      { file: "cut.png", problem: "truncated: the file ends inside the IDAT chunk" },
      // Files are read in name order, so the copy is met first: the message names both either way.
      { file: "img-01.png", problem: "is byte-identical to copy.png: remove one of the two" },
      { file: "noeoi.jpg", problem: "truncated: the file ends inside the image data, before the end-of-image (EOI) marker" },
      {
        file: "notes.pdf",
        problem: "a PDF document, not a JPEG, PNG or WebP: convert it to JPEG, PNG or WebP",
      },
      { file: "orphan.txt", problem: "is a caption for no image: there is no orphan.jpg, orphan.jpeg, orphan.png, orphan.webp" },
      {
        file: "photo.heic",
        problem: "a HEIC/HEIF image (the iPhone default), not a JPEG, PNG or WebP: convert it to JPEG, PNG or WebP",
      },
      {
        file: "photo.jfif",
        problem: "is a JPEG whose name does not end in .jpg, .jpeg, .png, .webp, so the trainer would skip it: rename it",
      },
      { file: "small.png", problem: "is 400x600 px: its shorter side is under the 512 px the trainer needs" },
      { file: "sub", problem: "is a subfolder: only the files directly in the folder are used; move its images up, or move it out" },
      { file: dir, problem: "only 8 of its 17 image files are usable; the trainer needs at least 10" },
    ]);
  });

  it("finds the same problems in a zip, reading on past each refused entry", async () => {
    const eight = goodImages(8);
    const path = writeZip("bad.zip", [
      { name: "anim.gif", data: makeGif() },
      ...zipEntries(eight),
      { name: "photo.heic", data: makeHeic() },
      { name: "cut.png", data: truncate(makePng({ width: 600, height: 600, seed: 90 }), 2000), method: 0 },
      { name: "small.png", data: makePng({ width: 400, height: 600, seed: 93 }) },
      { name: "copy.png", data: eight.get("img-08.png")! },
    ]);
    expect(await problemsOf(path)).toEqual([
      { file: "anim.gif", problem: "a GIF image, not a JPEG, PNG or WebP: convert it to JPEG, PNG or WebP" },
      { file: "copy.png", problem: "is byte-identical to img-08.png: remove one of the two" },
      { file: "cut.png", problem: "truncated: the file ends inside the IDAT chunk" },
      {
        file: "photo.heic",
        problem: "a HEIC/HEIF image (the iPhone default), not a JPEG, PNG or WebP: convert it to JPEG, PNG or WebP",
      },
      { file: "small.png", problem: "is 400x600 px: its shorter side is under the 512 px the trainer needs" },
      { file: path, problem: "only 8 of its 13 image files are usable; the trainer needs at least 10" },
    ]);
  });

  it("refuses fewer than 10 images, and accepts exactly 10", async () => {
    const nine = writeFiles(fresh("nine"), goodImages(9));
    expect(await problemsOf(nine)).toEqual([{ file: nine, problem: "holds 9 images; the trainer needs at least 10" }]);
    await expect(inspectImageSet(writeFiles(fresh("ten"), goodImages(10)))).resolves.toHaveProperty("images.length", 10);
  });

  it("refuses a set whose upload zip would exceed Replicate's file limit", async () => {
    const dir = writeFiles(fresh("big"), ten);
    const [problem] = await problemsOf(dir, { limits: { maxZipBytes: 1_000_000 } });
    expect(problem).toEqual({
      file: dir,
      problem: expect.stringMatching(
        /^the upload zip would be \d+\.\d MB, over Replicate's 1\.0 MB file limit: use fewer or smaller images/,
      ) as unknown as string,
    });
  });

  it("refuses images over the size and pixel caps without trusting their names", async () => {
    const dir = writeFiles(fresh("caps"), [
      ...goodImages(10),
      ["huge.png", makePng({ width: 1000, height: 1000, seed: 50, noise: true, level: 0 })],
      ["wide.png", makePng({ width: 3000, height: 600, seed: 51 })],
    ]);
    expect(await problemsOf(dir, { limits: { maxImageBytes: 1_500_000, maxPixels: 1_000_000 } })).toEqual([
      { file: "huge.png", problem: "is 3.0 MB, larger than the 1.5 MB allowed for an image" },
      {
        file: "wide.png",
        problem: "is 3000x600 px, over 1 megapixels: scale it down (the trainer uses 1024 px at most)",
      },
    ]);
  });

  it("refuses captions that are not small UTF-8 text", async () => {
    const dir = writeFiles(fresh("captions"), [
      ...goodImages(10),
      ["img-01.txt", Buffer.from([0xff, 0xfe, 0x41, 0x00])],
      ["img-02.txt", "x".repeat(17 * 1024)],
    ]);
    expect(await problemsOf(dir)).toEqual([
      { file: "img-01.txt", problem: "is not UTF-8 text (a caption must be plain text)" },
      { file: "img-02.txt", problem: "is 17.4 kB, larger than the 16.4 kB allowed for a caption" },
    ]);
  });

  it("refuses a path that does not exist, a single image, and a file that is not a zip", async () => {
    const missing = join(root, "missing");
    expect(await problemsOf(missing)).toEqual([{ file: missing, problem: "does not exist" }]);
    const image = fresh("one.png");
    writeFileSync(image, makePng({ width: 600, height: 600 }));
    expect(await problemsOf(image)).toEqual([
      { file: image, problem: "is a single image: pass the folder that holds the images, or a .zip of them" },
    ]);
    const fake = fresh("fake.zip");
    writeFileSync(fake, makeHeic());
    expect(await problemsOf(fake)).toEqual([
      { file: fake, problem: "is neither a folder nor a .zip file (it is a HEIC/HEIF image (the iPhone default))" },
    ]);
    const broken = fresh("broken.zip");
    writeFileSync(broken, truncate(buildZip(zipEntries(ten)), 5000));
    expect(await problemsOf(broken)).toEqual([
      { file: broken, problem: expect.stringMatching(/^is not a readable zip archive \(/) as unknown as string },
    ]);
  });
});

describe("inspectImageSet: names", () => {
  it("refuses zip entries whose names collide once case is ignored", async () => {
    const path = writeZip("case.zip", [
      ...zipEntries(ten),
      { name: "IMG-01.PNG", data: makePng({ width: 600, height: 600, seed: 70 }) },
    ]);
    expect(await problemsOf(path)).toEqual([
      { file: "IMG-01.PNG", problem: "has the same name as img-01.png once upper and lower case are not told apart: rename one" },
    ]);
  });

  it("refuses images in subfolders of a zip unless they all share one top folder", async () => {
    const path = writeZip("nested.zip", [
      ...zipEntries(ten),
      { name: "more/a.png", data: makePng({ width: 600, height: 600, seed: 71 }) },
    ]);
    expect(await problemsOf(path)).toEqual([
      {
        file: "more/a.png",
        problem: "is in a subfolder of the zip: put the images at the top of the zip (or all in one folder)",
      },
    ]);
  });
});

describe("inspectImageSet: inputs that try to escape", () => {
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
    const unsafe = (file: string, why: string) => ({
      file,
      problem: `unsafe path in the zip: ${why}; an archive of photos has no such entry`,
    });
    expect(await problemsOf(path)).toEqual([
      unsafe("../evil.png", 'it climbs out of the archive ("..")'),
      unsafe("/etc/evil.png", "it is an absolute path"),
      unsafe("C:/Windows/evil.png", "it is an absolute Windows path"),
      unsafe("C:\\Windows\\evil.png", "its name contains backslashes (a Windows path)"),
      { file: "link.png", problem: "is a symbolic link; the zip must hold the image files themselves" },
      unsafe("photos/../../evil2.png", 'it climbs out of the archive ("..")'),
    ]);
  });

  it("refuses an encrypted entry and one whose CRC does not match", async () => {
    const path = writeZip("damaged.zip", [
      ...zipEntries(ten),
      { name: "secret.png", data: makePng({ width: 600, height: 600, seed: 60 }), encrypted: true },
      { name: "rot.png", data: makePng({ width: 600, height: 600, seed: 61 }), crc: 1234 },
    ]);
    expect(await problemsOf(path)).toEqual([
      { file: "rot.png", problem: "is damaged in the zip (its CRC-32 does not match)" },
      { file: "secret.png", problem: "is encrypted; zip the images without a password" },
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
      { file: "dangling.png", problem: "is a symbolic link to nothing (its target does not exist)" },
      {
        file: "folder-link",
        problem: `is a symbolic link leading outside the folder (to ${outside}): copy the image into the folder instead`,
      },
      // Followed inside the folder, where its content is checked like any file's: here, a duplicate.
      { file: "in.png", problem: "is byte-identical to img-01.png: remove one of the two" },
      {
        file: "out.png",
        problem: `is a symbolic link leading outside the folder (to ${join(outside, "secret.png")}): copy the image into the folder instead`,
      },
    ]);
  });

  it("refuses a zip whose entry declares a compression ratio over 100:1, without inflating it", async () => {
    const path = writeZip("ratio.zip", [...zipEntries(ten), { name: "bomb.png", data: zeros(20_000_000) }]);
    expect(await problemsOf(path)).toEqual([
      {
        file: "bomb.png",
        problem: expect.stringMatching(
          /^declares 20\.0 MB compressed into \d+\.\d kB, more than 100 to 1 \(a zip bomb\?\)$/,
        ) as unknown as string,
      },
    ]);
  });

  it("refuses an entry that inflates beyond the size its headers declare", async () => {
    // A real PNG, so that what stops the reading is the size, not the content.
    const data = makePng({ width: 1000, height: 1000, seed: 63, noise: true, level: 0 });
    const path = writeZip("liar.zip", [...zipEntries(ten), { name: "liar.png", data, declaredSize: 50_000 }]);
    expect(await problemsOf(path)).toEqual([
      { file: "liar.png", problem: "inflates to more bytes than the zip declares for it (a zip bomb, or a damaged zip)" },
    ]);
  });

  it("refuses a zip or folder with too many entries before reading any", async () => {
    const many = new Map([...goodImages(12)]);
    const zip = writeZip("many.zip", zipEntries(many));
    expect(await problemsOf(zip, { limits: { maxEntries: 11 } })).toEqual([
      { file: zip, problem: "holds 12 entries; at most 11 are read: zip only the training images" },
    ]);
    const dir = writeFiles(fresh("many"), many);
    expect(await problemsOf(dir, { limits: { maxEntries: 11 } })).toEqual([
      { file: dir, problem: "holds 12 files; at most 11 are read: keep only the training images in it" },
    ]);
  });

  it("stops reading once the whole set has read more than its budget", async () => {
    const dir = writeFiles(fresh("budget"), ten);
    const [problem] = await problemsOf(dir, { limits: { maxBytesRead: 1_000_000 } });
    expect(problem?.problem).toMatch(/^stopped reading after \d+\.\d kB: the set is far larger than the 100\.0 MB that can be uploaded$/);
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
    const read = await readImage(endlessPng(seen), { maxBytes: 1_000_000 });
    expect(read).toMatchObject({ ok: false, problem: "is larger than the 1.0 MB allowed" });
    expect(read.bytesRead).toBeLessThan(1_100_000);
    expect(seen.chunks).toBeLessThan(20);
  });

  it("stops a zip entry inflating past 100 times its compressed size, whatever it declared", async () => {
    const seen = { chunks: 0 };
    const read = await readImage(endlessPng(seen), {
      maxBytes: 100_000_000,
      zip: { compressedSize: 1000, crc32: 0, maxRatio: 100, ratioFloor: 0 },
    });
    expect(read).toMatchObject({ ok: false, problem: "inflates to more than 100 times its compressed size (a zip bomb?)" });
    expect(read.bytesRead).toBeLessThan(200_000);
  });
});

describe("inspectImageSet: the folder itself", () => {
  it("reports a subfolder by name and an empty folder as too few images", async () => {
    const dir = fresh("empty");
    mkdirSync(join(dir, "rejected"), { recursive: true });
    expect(await problemsOf(dir)).toEqual([
      { file: "rejected", problem: "is a subfolder: only the files directly in the folder are used; move its images up, or move it out" },
      { file: dir, problem: "holds 0 images; the trainer needs at least 10" },
    ]);
  });

  it("refuses a named pipe without opening it (opening one would block)", async () => {
    const dir = writeFiles(fresh("fifo"), ten);
    expect(spawnSync("mkfifo", [join(dir, "pipe.png")]).status).toBe(0);
    expect(await problemsOf(dir)).toEqual([{ file: "pipe.png", problem: "is not a regular file (a device, pipe or socket)" }]);
  });

  it("reads an image by its content whatever its extension says", async () => {
    const dir = writeFiles(fresh("ext"), goodImages(10));
    copyFileSync(join(dir, "img-01.png"), join(dir, "img-01-copy.webp"));
    expect(await problemsOf(dir)).toEqual([{ file: "img-01.png", problem: "is byte-identical to img-01-copy.webp: remove one of the two" }]);
  });
});
