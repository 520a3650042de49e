/**
 * Real phone photos through `train`: what reaches Replicate is exactly what `prepare` writes, and
 * not one byte of any source's metadata (GPS, device, maker notes, XMP, IPTC, ICC) is in it; every
 * image is upright and within bounds; the training row records that the set passed preparation.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatasetsResource } from "../../src/datasets/index.js";
import { startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { writeFiles } from "../support/images.js";
import {
  fixture,
  leakedWindows,
  makePhoto,
  metadataFree,
  metadataWindows,
  photoSet,
  SECRET_COMMENT,
  SECRET_MAKE,
  SECRET_XMP,
  withOrientation,
  withPrivateMetadata,
} from "../support/photos.js";
import { tempDir } from "../support/temp-dirs.js";
import { readZip, trainingRows } from "./training-helpers.js";

let emu: Emulator;
let dir: string;
let sources: Map<string, Buffer>;
beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 10_000, processingMs: 100_000 } });
  sources = await photoSet(8, 1200);
  sources.set("IMG_5910.jpg", fixture("IMG_5910.jpg"));
  sources.set("IMG_0001.HEIC", fixture("heic-iphone7.heic"));
  sources.set("canon.jpg", fixture("canon-dslr-2400.jpg"));
  sources.set("tagged.jpg", await withPrivateMetadata(await makePhoto(1300, { width: 2000, height: 2600 })));
  sources.set("sideways.jpg", await withOrientation(await sharp(await makePhoto(1301, { width: 800, height: 1000 })).rotate(-90).toBuffer(), 6));
  dir = writeFiles(tempDir("sselfie-private-"), sources);
});
afterAll(() => emu.close());

forEachBackend((backend) => {
  it("uploads exactly the prepared images, with no byte of the photos' metadata, upright and within bounds", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const started = await startTraining(ctx, "op", { userId: "7", images: dir });
    const zipBytes = emu.fileBytesFromUrl(started.inputImagesUrl)!;

    // Not one window of any source's EXIF/XMP/IPTC/ICC anywhere in the uploaded zip.
    for (const [name, bytes] of sources) {
      const windows = await metadataWindows(bytes);
      if (windows.length > 0) expect(leakedWindows(zipBytes, windows), name).toBe(0);
    }
    for (const secret of [SECRET_MAKE, SECRET_XMP, SECRET_COMMENT, "GPS", "Canon", "Apple", "xmpmeta"]) {
      expect(zipBytes.includes(Buffer.from(secret, "latin1")), secret).toBe(false);
    }

    // Exactly the files `prepare` writes, under the same names.
    const out = join(tempDir("sselfie-private-out-"), "out");
    const prepared = await createDatasetsResource({ tmpDir: tempDir("sselfie-private-tmp-") }).prepare({ images: dir, outDir: out });
    const zip = await readZip(zipBytes);
    expect([...zip.keys()]).toEqual(prepared.images.map((i) => i.name));
    for (const [name, bytes] of zip) {
      expect(bytes.equals(readFileSync(join(out, name))), name).toBe(true);
      expect(await metadataFree(bytes), name).toBe(true);
      const m = await sharp(bytes).metadata();
      expect(Math.max(m.width!, m.height!), name).toBeLessThanOrEqual(1440);
      expect(Math.min(m.width!, m.height!), name).toBeGreaterThanOrEqual(512);
    }
    const sideways = prepared.images.find((i) => i.source === "sideways.jpg")!;
    expect([sideways.width, sideways.height, sideways.rotated]).toEqual([800, 1000, true]);
    expect(prepared.images.find((i) => i.source === "IMG_0001.HEIC")).toMatchObject({ format: "heif", width: 1440, height: 1080 });

    expect(started.dataset).toMatchObject({ count: 13, rotated: 1, metadataRemoved: 5, zipBytes: zipBytes.length });
    const [row] = await trainingRows(db, "7");
    expect(row).toMatchObject({ dataset_prepared: true, dataset: { ...started.dataset } });
  });
});
