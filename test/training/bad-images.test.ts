/**
 * A bad image set is refused (INVALID_IMAGES) before the database or Replicate hear of it,
 * whatever the state of the user.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import {
  buildZip,
  corruptPngData,
  goodImages,
  makeGif,
  makeHeic,
  makePng,
  truncate,
  writeFiles,
  zeros,
  zipEntries,
} from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";
import { count, imageFolder } from "./training-helpers.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.close());

const tmp = () => tempDir("sselfie-bad-");
const folder = (files: Iterable<[string, Buffer | string]>) => writeFiles(tmp(), files);
const ten = () => goodImages(10, { mixed: true, seed: 500 });
const zipFile = (entries: ReturnType<typeof zipEntries>) => {
  const path = join(tmp(), "photos.zip");
  writeFileSync(path, buildZip(entries));
  return path;
};

/** name -> a path that must be refused, and a word its message must contain. */
const corpus: Record<string, () => { path: string; mentions: RegExp }> = {
  "nine images": () => ({ path: folder(goodImages(9)), mentions: /10/ }),
  "a GIF among ten images": () => ({ path: folder([...ten(), ["anim.gif", makeGif()]]), mentions: /anim\.gif/ }),
  "an image shorter than 512 px": () => ({
    path: folder([...goodImages(9), ["small.png", makePng({ width: 511, height: 800, seed: 77 })]]),
    mentions: /small\.png/,
  }),
  "two byte-identical images": () => {
    const files = ten();
    return { path: folder([...files, ["copy.png", files.get("img-01.png")!]]), mentions: /copy\.png|img-01\.png/ };
  },
  "a truncated PNG": () => ({
    path: folder([...goodImages(10), ["cut.png", truncate(makePng({ width: 600, height: 600, seed: 91 }), 200)]]),
    mentions: /cut\.png/,
  }),
  "a PNG with a corrupted data chunk": () => ({
    path: folder([...goodImages(10), ["bad-crc.png", corruptPngData(makePng({ width: 600, height: 600, seed: 92 }))]]),
    mentions: /bad-crc\.png/,
  }),
  "a HEIC named .jpg that does not decode": () => ({ path: folder([...ten(), ["iphone.jpg", makeHeic(3)]]), mentions: /iphone\.jpg/ }),
  "a text file named .png": () => ({ path: folder([...ten(), ["notes.png", "not an image at all"]]), mentions: /notes\.png/ }),
  "an empty folder": () => ({ path: tmp(), mentions: /10|no image|empty/i }),
  "a path that does not exist": () => ({ path: join(tmp(), "missing"), mentions: /does not exist/ }),
  "a single image instead of a folder": () => {
    const dir = folder(goodImages(1));
    return { path: join(dir, "img-01.png"), mentions: /single image/ };
  },
  "a zip with a corrupted image": () => ({
    path: zipFile([...zipEntries(goodImages(10)), { name: "broken.png", data: corruptPngData(makePng({ width: 600, height: 600, seed: 93 })) }]),
    mentions: /broken\.png/,
  }),
  "a zip bomb posing as an image": () => ({
    path: zipFile([...zipEntries(goodImages(10)), { name: "bomb.png", data: zeros(20_000_000) }]),
    mentions: /bomb\.png/,
  }),
  "a zip escaping its folder": () => ({
    path: zipFile([...zipEntries(goodImages(10)), { name: "../evil.png", data: makePng({ width: 600, height: 600, seed: 94 }) }]),
    mentions: /evil\.png/,
  }),
};

forEachBackend((backend) => {
  for (const [name, make] of Object.entries(corpus)) {
    it(`refuses ${name}, with nothing reaching the database or Replicate`, async () => {
      const db = await backend.freshDatabase();
      const ctx = makeContext(db, emu);
      emu.clearRequests();
      const { path, mentions } = make();
      const err = await startTraining(ctx, "op", { userId: "42", images: path }).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.code).toBe("INVALID_IMAGES");
      expect(`${err.message} ${JSON.stringify(err.details)}`).toMatch(mentions);
      expect(emu.requests).toHaveLength(0);
      for (const table of ["users", "user_models", "trainings", "operator_events"]) expect(await count(db, table)).toBe(0);
    });
  }

  it("refuses a bad set even while the user has a training running (exit 2 beats exit 4)", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.clearRequests();
    await expect(startTraining(ctx, "op", { userId: "42", images: folder(goodImages(3)) })).rejects.toMatchObject({ code: "INVALID_IMAGES" });
    expect(emu.requests).toHaveLength(0);
  });
});
