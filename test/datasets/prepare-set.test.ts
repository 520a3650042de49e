/**
 * A whole set through `sselfie.datasets.prepare` on an SDK object without a database: names,
 * manifest and contact sheet, idempotence, every problem of every file at once, duplicates before
 * and after preparation, zips with clutter and bombs, the check hooks, and an abort that leaves
 * nothing behind.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareImageSet } from "../../src/datasets/index.js";
import { createSselfie, type Sselfie } from "../../src/sselfie.js";
import { buildZip, zeros, zipEntries } from "../support/images.js";
import { fixture, insertJpegComment, makePhoto, metadataFree, photoSet, withOrientation, withPrivateMetadata } from "../support/photos.js";
import { tempDir } from "../support/temp-dirs.js";
import { writeFiles } from "../support/images.js";

let sselfie: Sselfie;
let tmp: string;
beforeAll(async () => {
  tmp = tempDir("sselfie-prep-tmp-");
  sselfie = await createSselfie({ database: false, identityCheck: false, home: join(tmp, "home"), tmpDir: join(tmp, "work") });
});
afterAll(() => sselfie.close());

const folder = (files: Iterable<[string, Buffer | string]>) => writeFiles(tempDir("sselfie-prep-src-"), files);
const outDir = () => join(tempDir("sselfie-prep-out-"), "out");

describe("a good set", () => {
  it("writes NN-name.jpg images, manifest.json and contact-sheet.png; preparing the result changes nothing", async () => {
    const files = await photoSet(10, 100);
    files.set("IMG_5910.jpg", fixture("IMG_5910.jpg"));
    files.set("Été à Nice (2).HEIC", fixture("heic-collection.heic"));
    files.set("sideways.jpg", await withOrientation(await makePhoto(120), 8));
    const source = folder([...files, [".DS_Store", "x"], ["notes.txt", "a caption"]]);
    const out = outDir();
    const result = await sselfie.datasets.prepare({ images: source, outDir: out });

    expect(result.ok).toBe(true);
    expect(result.count).toBe(13);
    expect(result.problems).toEqual([]);
    expect(result.images.map((i) => i.name)).toEqual([
      "01-img_5910.jpg",
      "02-photo-01.jpg",
      "03-photo-02.jpg",
      "04-photo-03.jpg",
      "05-photo-04.jpg",
      "06-photo-05.jpg",
      "07-photo-06.jpg",
      "08-photo-07.jpg",
      "09-photo-08.jpg",
      "10-photo-09.jpg",
      "11-photo-10.jpg",
      "12-sideways.jpg",
      "13-ete-a-nice-2.jpg",
    ]);
    const heic = result.images.find((i) => i.source === "Été à Nice (2).HEIC")!;
    expect(heic).toMatchObject({ format: "heif", width: 1440, height: 960, converted: true, face: null, problems: [] });
    expect(result.images.find((i) => i.source === "sideways.jpg")).toMatchObject({ rotated: true, width: 900, height: 700 });
    // Generated photos without metadata and within bounds are kept as they are.
    expect(result.images.find((i) => i.source === "photo-01.jpg")!.converted).toBe(false);

    const written = readdirSync(out).sort();
    expect(written).toEqual([...result.images.map((i) => i.name!), "contact-sheet.png", "manifest.json"].sort());
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest).toEqual({ ok: true, count: 13, images: result.images, problems: [] });
    for (const image of result.images) {
      const bytes = readFileSync(join(out, image.name!));
      expect(await metadataFree(bytes)).toBe(true);
      expect(image.sha256).toBe((await import("node:crypto")).createHash("sha256").update(bytes).digest("hex"));
    }
    const sheet = await sharp(join(out, "contact-sheet.png")).metadata();
    expect(sheet.format).toBe("png");
    expect(sheet.width).toBeGreaterThan(1000);
    expect(result.summary).toMatchObject({ count: 13, rotated: 1, resized: 0, metadataRemoved: 2 });

    // Idempotence: the prepared folder, prepared again, gives the same names and the same bytes.
    const again = outDir();
    const second = await sselfie.datasets.prepare({ images: out, outDir: again });
    expect(second.ok).toBe(true);
    expect(second.images.map((i) => [i.name, i.sha256, i.converted])).toEqual(result.images.map((i) => [i.name, i.sha256, false]));
    for (const image of second.images) expect(readFileSync(join(again, image.name!)).equals(readFileSync(join(out, image.name!)))).toBe(true);
  });

  it("reads a zip made on a Mac: one folder, __MACOSX/ and dot-files skipped, name.txt skipped", async () => {
    const photos = await photoSet(10, 200);
    const zip = buildZip([
      ...zipEntries(photos, "selfies/"),
      { name: "__MACOSX/selfies/._photo-01.jpg", data: Buffer.from("resource fork") },
      { name: "selfies/.DS_Store", data: Buffer.from("finder") },
      { name: "selfies/photo-01.txt", data: Buffer.from("a caption") },
    ]);
    const path = join(tempDir("sselfie-prep-zip-"), "selfies.zip");
    writeFileSync(path, zip);
    const result = await sselfie.datasets.prepare({ images: path });
    expect(result.ok).toBe(true);
    expect(result.count).toBe(10);
    expect(result.outDir).toBeNull();
    expect(result.images.map((i) => i.source)).toEqual([...photos.keys()].map((n) => `selfies/${n}`));
  });
});

describe("a bad set", () => {
  it("reports every problem of every file at once and still writes what it prepared", async () => {
    const good = await photoSet(9, 300);
    const first = good.get("photo-01.jpg")!;
    const tagged = await withPrivateMetadata(await makePhoto(330, { width: 800, height: 1000 }));
    const zip = buildZip([
      ...zipEntries(good),
      { name: "copy-of-01.jpg", data: first },
      { name: "empty.jpg", data: Buffer.alloc(0) },
      { name: "cut.jpg", data: first.subarray(0, first.length >> 1) },
      { name: "anim.gif", data: Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1") },
      { name: "bomb.jpg", data: zeros(30_000_000) },
      { name: "wide.jpg", data: await makePhoto(331, { width: 3000, height: 900 }) },
      // The same picture twice with different metadata: different files, identical once prepared.
      { name: "tagged-a.jpg", data: tagged },
      { name: "tagged-b.jpg", data: insertJpegComment(tagged, "another comment") },
      { name: "sub/deeper/x.jpg", data: first },
    ]);
    const path = join(tempDir("sselfie-prep-bad-"), "photos.zip");
    writeFileSync(path, zip);
    const out = outDir();
    const result = await sselfie.datasets.prepare({ images: path, outDir: out });

    expect(result.ok).toBe(false);
    const codes = Object.fromEntries(result.images.filter((i) => i.problems.length).map((i) => [i.source, i.problems.map((p) => p.code)]));
    expect(codes).toEqual({
      "anim.gif": ["UNSUPPORTED_FORMAT"],
      "bomb.jpg": ["ZIP_BOMB"],
      "cut.jpg": ["DAMAGED_IMAGE"],
      "empty.jpg": ["EMPTY_FILE"],
      "photo-01.jpg": ["DUPLICATE"],
      "sub/deeper/x.jpg": ["UNUSABLE_FILE"],
      "tagged-b.jpg": ["DUPLICATE"],
      "wide.jpg": ["TOO_SMALL"],
    });
    expect(result.images.find((i) => i.source === "photo-01.jpg")!.problems[0]!.message).toContain("copy-of-01.jpg");
    expect(result.images.find((i) => i.source === "tagged-b.jpg")!.problems[0]!.message).toMatch(/once prepared.*tagged-a\.jpg/);
    expect(result.images.find((i) => i.source === "wide.jpg")!.problems[0]!.message).toMatch(/3000x900.*1440x432/);
    // 9 good photos and tagged-a: 10 usable, so the set would pass but for its files' problems.
    expect(result.count).toBe(10);
    expect(result.problems).toEqual([]);
    expect(existsSync(join(out, "manifest.json"))).toBe(true);
    expect(existsSync(join(out, "contact-sheet.png"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")).ok).toBe(false);
  });

  it("needs at least 10 usable photos, and at most 200 files", async () => {
    const nine = await sselfie.datasets.prepare({ images: folder(await photoSet(9, 400)) });
    expect(nine.ok).toBe(false);
    expect(nine.problems.map((p) => p.code)).toEqual(["TOO_FEW_IMAGES"]);

    const many = folder(await photoSet(4, 410, { width: 600, height: 600 }));
    const report = await prepareImageSet(many, { dir: tempDir("sselfie-prep-many-"), limits: { maxFiles: 3 } });
    expect(report.report.problems.map((p) => p.code)).toEqual(["TOO_MANY_FILES"]);
    expect(report.report.images).toEqual([]);
  });

  it("refuses a source that is neither a folder nor a zip, and an output folder that is not empty", async () => {
    const missing = await sselfie.datasets.prepare({ images: join(tmp, "no-such-folder") });
    expect(missing.problems.map((p) => p.code)).toEqual(["SOURCE_UNUSABLE"]);
    const busy = tempDir("sselfie-prep-busy-");
    writeFileSync(join(busy, "keep.txt"), "mine");
    await expect(sselfie.datasets.prepare({ images: folder(await photoSet(10, 500)), outDir: busy })).rejects.toMatchObject({
      code: "OUT_DIR_NOT_EMPTY",
    });
    expect(readdirSync(busy)).toEqual(["keep.txt"]);
  });
});

describe("the pipeline", () => {
  it("decodes at most 2 images at once and lets per-image and per-set checks report faces and problems", async () => {
    const source = folder(await photoSet(10, 600));
    let active = 0;
    let most = 0;
    const dir = tempDir("sselfie-prep-hooks-");
    const set = await prepareImageSet(source, {
      dir,
      checks: {
        async checkImage(image) {
          active += 1;
          most = Math.max(most, active);
          await new Promise((r) => setTimeout(r, 20));
          active -= 1;
          const box = [10, 20, image.width / 2, image.height / 2] as const;
          return {
            face: { box, score: 0.9, distance: null },
            problems: image.index === 3 ? [{ code: "NO_FACE", message: "shows no face" }] : [],
            data: image.index,
          };
        },
        async checkSet(images) {
          expect(images.map((i) => i.data)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
          return {
            images: images.map((i) => ({ index: i.index, face: { ...i.face!, distance: i.index / 10 } })),
            problems: [{ code: "IDENTITY_MISMATCH", message: "not the same person as before" }],
          };
        },
      },
    });
    expect(most).toBe(2);
    expect(set.report.ok).toBe(false);
    expect(set.report.images[3]!.problems.map((p) => p.code)).toEqual(["NO_FACE"]);
    expect(set.report.images[5]!.face).toEqual({ box: [10, 20, 350, 450], score: 0.9, distance: 0.5 });
    expect(set.report.problems.map((p) => p.code)).toContain("IDENTITY_MISMATCH");
    expect(set.files).toHaveLength(9);
  });

  it("stops on abort and leaves no file behind, neither in the output folder nor in its temporary folder", async () => {
    const source = folder(await photoSet(12, 700, { width: 2000, height: 2500 }));
    const parent = tempDir("sselfie-prep-abort-");
    const out = join(parent, "out");
    const controller = new AbortController();
    const run = sselfie.datasets.prepare(
      { images: source, outDir: out },
      { signal: controller.signal, onProgress: (p) => p.done === 3 && controller.abort(new Error("stop")) },
    );
    await expect(run).rejects.toThrow("stop");
    expect(readdirSync(parent)).toEqual([]);

    const work = join(tmp, "work");
    const before = existsSync(work) ? readdirSync(work) : [];
    const controller2 = new AbortController();
    await expect(
      sselfie.datasets.prepare({ images: source }, { signal: controller2.signal, onProgress: (p) => p.done === 2 && controller2.abort(new Error("stop")) }),
    ).rejects.toThrow("stop");
    expect(readdirSync(work)).toEqual(before);
  });
});
