import { createHash } from "node:crypto";
import { appendFileSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import * as yauzl from "yauzl";
import { describe, expect, it } from "vitest";
import { measureInChild } from "../../bench/packaging.js";
import { InvalidInputError } from "../../src/errors.js";
import { inspectImageSet, packageImageSet, type PackagedImageSet } from "../../src/training/dataset/index.js";
import { buildZip, goodImages, makePng, writeFiles, zipEntries } from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

const root = tempDir("sselfie-package-");
let counter = 0;
const fresh = (name: string) => join(root, `${++counter}-${name}`);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const images = goodImages(11, { mixed: true });
const captions = new Map([
  ["img-03.txt", Buffer.from("a photo of user42, close-up")],
  ["img-07.txt", Buffer.from("a photo of user42 at the beach")],
]);
const originals = new Map([...images, ...captions]);

interface ZipEntryRead {
  name: string;
  bytes: Buffer;
  method: number;
  extraFieldLength: number;
  date: Date;
}

/** Every entry of a zip, read back with yauzl, in the zip's order. */
async function readZip(path: string): Promise<ZipEntryRead[]> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  const out: ZipEntryRead[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const stream = (await zip.openReadStreamPromise(entry)) as Readable;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      out.push({
        name: entry.fileName,
        bytes: Buffer.concat(chunks),
        method: entry.compressionMethod,
        extraFieldLength: entry.extraFieldLength,
        date: entry.getLastModDate(),
      });
    }
  } finally {
    zip.close();
  }
  return out;
}

async function expectZipHoldsOriginals(packaged: PackagedImageSet): Promise<void> {
  const file = readFileSync(packaged.zipPath);
  expect(packaged.zipSize).toBe(file.length);
  expect(packaged.zipSha256).toBe(sha256(file));

  const entries = await readZip(packaged.zipPath);
  expect(entries.map((e) => e.name)).toEqual([...originals.keys()].sort());
  expect(packaged.manifest.map((m) => m.name)).toEqual(entries.map((e) => e.name));
  for (const [i, entry] of entries.entries()) {
    expect(entry.bytes.equals(originals.get(entry.name)!), entry.name).toBe(true);
    const m = packaged.manifest[i]!;
    expect(m.size).toBe(entry.bytes.length);
    expect(m.sha256).toBe(sha256(entry.bytes));
    expect(entry.method).toBe(0);
    expect(entry.extraFieldLength).toBe(0);
    expect(entry.date.getFullYear()).toBe(1980);
  }
  expect(packaged.manifest.find((m) => m.name === "img-02.jpg")).toMatchObject({ format: "jpeg", width: 512, height: 640 });
  expect(packaged.manifest.find((m) => m.name === "img-03.webp")).toMatchObject({ format: "webp", width: 512, height: 640 });
  expect(packaged.manifest.find((m) => m.name === "img-03.txt")).toEqual({
    name: "img-03.txt",
    size: captions.get("img-03.txt")!.length,
    sha256: sha256(captions.get("img-03.txt")!),
    format: "caption",
    imageName: "img-03.webp",
  });
}

describe("packageImageSet", () => {
  it("zips a folder's images and captions byte for byte, with a manifest of exactly what is inside", async () => {
    const dir = writeFiles(fresh("folder"), [...originals, [".DS_Store", "x"]]);
    const set = await inspectImageSet(dir);
    const out = fresh("out");
    const packaged = await packageImageSet(set, { dir: out });
    expect(packaged.zipPath.startsWith(out)).toBe(true);
    expect(packaged.zipSize).toBe(set.zipSize);
    await expectZipHoldsOriginals(packaged);
  });

  it("repackages a zip's entries byte for byte, and the same set always gives the same zip", async () => {
    const zipPath = fresh("in.zip");
    writeFileSync(zipPath, buildZip(zipEntries(originals, "selfies/")));
    const fromZip = await packageImageSet(await inspectImageSet(zipPath), fresh("out"));
    await expectZipHoldsOriginals(fromZip);

    const dir = writeFiles(fresh("same"), originals);
    const set = await inspectImageSet(dir);
    const again = await Promise.all([packageImageSet(set, fresh("a")), packageImageSet(set, fresh("b"))]);
    expect(new Set([fromZip.zipSha256, ...again.map((p) => p.zipSha256)]).size).toBe(1);
  });

  it("refuses a file changed after inspection, and leaves no zip behind", async () => {
    const dir = writeFiles(fresh("changing"), images);
    const set = await inspectImageSet(dir);
    appendFileSync(join(dir, "img-03.webp"), Buffer.from([0]));
    const out = fresh("out");
    const err = await packageImageSet(set, out).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe("INVALID_IMAGES");
    expect((err as InvalidInputError).details.problems).toEqual([
      { file: "img-03.webp", problem: "grew after it was checked: check the images and run again" },
    ]);
    expect(readdirSync(out)).toEqual([]);
  });

  it("refuses a file replaced or removed after inspection", async () => {
    const dir = writeFiles(fresh("replaced"), images);
    const set = await inspectImageSet(dir);
    writeFileSync(join(dir, "img-01.png"), makePng({ width: 512, height: 640, seed: 999 }).subarray(0, images.get("img-01.png")!.length));
    await expect(packageImageSet(set, fresh("out"))).rejects.toMatchObject({
      details: { problems: [{ file: "img-01.png", problem: "changed after it was checked: check the images and run again" }] },
    });
    unlinkSync(join(dir, "img-01.png"));
    await expect(packageImageSet(set, fresh("out"))).rejects.toMatchObject({
      details: { problems: [{ file: "img-01.png", problem: expect.stringMatching(/^could not be read again \(ENOENT/) }] },
    });
  });

  it("keeps memory flat as the set grows: 30 photos of 4 MB take no more than 10", () => {
    // PNG noise stored without compression: photo-sized files that are quick to make.
    const photos = (count: number) =>
      writeFiles(
        fresh(`photos-${count}`),
        Array.from({ length: count }, (_, i) => [
          `p${String(i).padStart(2, "0")}.png`,
          makePng({ width: 1180, height: 1180, seed: 5000 + i, noise: true, level: 0 }),
        ]),
      );
    const small = measureInChild(photos(10), fresh("out"));
    const large = measureInChild(photos(30), fresh("out"));
    expect(large.setBytes).toBeGreaterThan(120_000_000);
    expect(large.zipBytes).toBe(large.setBytes + 30 * (30 + 46 + 16 + 2 * "pNN.png".length) + 22);
    // Buffering the set would cost 125 MB here; streaming costs a few buffers and the garbage
    // between two collections, the same for 10 photos as for 30.
    const grew = large.peakRss - large.baselineRss - (small.peakRss - small.baselineRss);
    expect(large.peakRss - large.baselineRss).toBeLessThan(70_000_000);
    expect(grew).toBeLessThan(25_000_000);
  }, 120_000);
});
