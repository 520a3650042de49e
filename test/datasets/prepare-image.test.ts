/**
 * One photo through the pipeline: upright for all eight EXIF orientations and for HEIF's own
 * rotation (exactly once), no metadata left, bounds held, a compliant JPEG kept byte-for-byte,
 * and bad files refused with a problem of their own.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_PREPARE_LIMITS } from "../../src/datasets/limits.js";
import { prepareImage, type PreparedImage, type RefusedImage } from "../../src/datasets/prepare-image.js";
import { withExifOrientationTag, withHeifTransforms } from "../support/heif-variants.js";
import {
  fixture,
  leakedWindows,
  makePhoto,
  metadataFree,
  metadataWindows,
  pixelDistance,
  SECRET_COMMENT,
  SECRET_MAKE,
  SECRET_XMP,
  withOrientation,
  withPrivateMetadata,
} from "../support/photos.js";

const limits = DEFAULT_PREPARE_LIMITS;

async function prepared(bytes: Buffer): Promise<PreparedImage> {
  const r = await prepareImage(bytes, limits);
  if (!r.ok) throw new Error(`refused: ${r.problem.code} ${r.problem.message}`);
  return r;
}

async function refused(bytes: Buffer): Promise<RefusedImage["problem"]> {
  const r = await prepareImage(bytes, limits);
  if (r.ok) throw new Error("was prepared, expected a problem");
  return r.problem;
}

describe("orientation", () => {
  it("turns all eight EXIF orientations of the same picture upright (exifr's f1t..f8t, scaled up with their flag kept)", async () => {
    const outputs: Buffer[] = [];
    for (let n = 1; n <= 8; n++) {
      const tiny = fixture(`f${n}t.jpg`);
      const meta = await sharp(tiny).metadata();
      expect(meta.orientation).toBe(n);
      // Stored pixels scaled (not turned), the same flag written again.
      const source = await sharp(tiny).resize(meta.width! * 12, meta.height! * 12, { kernel: "nearest" }).withMetadata({ orientation: n }).jpeg({ quality: 95 }).toBuffer();
      const out = await prepared(source);
      expect([out.width, out.height]).toEqual([576, 960]);
      expect(out.rotated).toBe(n !== 1);
      expect(await metadataFree(out.jpeg)).toBe(true);
      outputs.push(out.jpeg);
    }
    for (const out of outputs.slice(1)) expect(await pixelDistance(out, outputs[0]!)).toBeLessThan(8);
    // The test can tell: the stored pixels of f3t (upside down) are far from f1t's.
    const stored = (n: number) => sharp(fixture(`f${n}t.jpg`)).resize(48, 80, { fit: "fill" }).jpeg().toBuffer();
    expect(await pixelDistance(await stored(3), await stored(1))).toBeGreaterThan(30);
  });

  it("applies a generated photo's orientation flag once: 6 (turn 90° clockwise) gives the upright picture", async () => {
    const upright = await makePhoto(3, { width: 600, height: 800 });
    // Stored sideways (turned anticlockwise), flagged 6 so that a viewer turns it back clockwise.
    const stored = await sharp(upright).rotate(-90).jpeg({ quality: 95 }).toBuffer();
    const out = await prepared(await withOrientation(stored, 6));
    expect([out.width, out.height]).toEqual([600, 800]);
    expect(await pixelDistance(out.jpeg, upright)).toBeLessThan(6);
  });

  it("applies HEIF's irot/imir exactly once, and never the EXIF orientation inside a HEIC", async () => {
    const heic = fixture("heic-collection.heic");
    const plain = await prepared(heic);
    expect([plain.width, plain.height, plain.rotated]).toEqual([1440, 960, false]);

    const turned = await prepared(withHeifTransforms(heic, { rotate: 1 }));
    expect([turned.width, turned.height, turned.rotated]).toEqual([960, 1440, true]);
    // irot 1 is a quarter turn anticlockwise: the plain picture turned the same way, once.
    const expected = await sharp(plain.jpeg).rotate(-90).jpeg().toBuffer();
    expect(await pixelDistance(turned.jpeg, expected)).toBeLessThan(6);
    const twice = await sharp(plain.jpeg).rotate(180).jpeg().toBuffer();
    expect(await pixelDistance(turned.jpeg, await sharp(twice).rotate(-90).jpeg().toBuffer())).toBeGreaterThan(20);

    // imir 0 mirrors top to bottom as libheif reads it (the axis' meaning changed between editions
    // of the standard); what matters here is that it is applied, once.
    const mirrored = await prepared(withHeifTransforms(heic, { mirror: 0 }));
    expect(mirrored.rotated).toBe(true);
    expect(await pixelDistance(mirrored.jpeg, await sharp(plain.jpeg).flip().jpeg().toBuffer())).toBeLessThan(6);
    expect(await pixelDistance(mirrored.jpeg, plain.jpeg)).toBeGreaterThan(20);

    // An iPhone HEIC whose EXIF says 6: HEIF's own properties rule, EXIF is never applied on top.
    const iphone = fixture("heic-iphone7.heic");
    const [asIs, flagged] = await Promise.all([prepared(iphone), prepared(withExifOrientationTag(iphone, 6))]);
    expect([flagged.width, flagged.height, flagged.rotated]).toEqual([1440, 1080, false]);
    expect(await pixelDistance(flagged.jpeg, asIs.jpeg)).toBeLessThan(1);
  });
});

describe("metadata", () => {
  it("removes every metadata block of real phone and camera photos: no segment, no byte of it in the output", async () => {
    for (const [name, kinds] of [
      ["IMG_5910.jpg", ["exif", "gps", "xmp", "iptc", "icc"]],
      ["canon-dslr-2400.jpg", ["exif", "xmp"]],
      ["heic-iphone7.heic", ["exif", "gps", "icc"]],
    ] as const) {
      const source = fixture(name);
      const windows = await metadataWindows(source);
      expect(windows.length, name).toBeGreaterThan(20);
      expect(leakedWindows(source, windows)).toBe(windows.length);
      const out = await prepared(source);
      expect(out.metadataRemoved, name).toEqual(expect.arrayContaining([...kinds]));
      expect(await metadataFree(out.jpeg), name).toBe(true);
      expect(leakedWindows(out.jpeg, windows), name).toBe(0);
    }
  });

  it("removes added device, GPS, XMP and comment metadata, and a PNG's text chunks", async () => {
    const source = await withPrivateMetadata(await makePhoto(5));
    for (const secret of [SECRET_MAKE, SECRET_XMP, SECRET_COMMENT]) expect(source.includes(secret)).toBe(true);
    const out = await prepared(source);
    expect(out.metadataRemoved).toEqual(["exif", "gps", "xmp", "comment"]);
    for (const secret of [SECRET_MAKE, SECRET_XMP, SECRET_COMMENT]) expect(out.jpeg.includes(secret)).toBe(false);
    expect(await metadataFree(out.jpeg)).toBe(true);

    const png = await sharp(await makePhoto(6, { format: "png" })).withExif({ IFD0: { Make: SECRET_MAKE } }).png().toBuffer();
    expect(png.includes(SECRET_MAKE)).toBe(true);
    const fromPng = await prepared(png);
    expect(fromPng.format).toBe("png");
    expect(fromPng.jpeg.includes(SECRET_MAKE)).toBe(false);
    expect(await metadataFree(fromPng.jpeg)).toBe(true);
  });
});

describe("bounds", () => {
  it("scales the longer side down to 1440, never up, and converts PNG, WebP and AVIF", async () => {
    const big = await prepared(await makePhoto(7, { width: 6000, height: 4000 }));
    expect([big.sourceWidth, big.sourceHeight, big.width, big.height]).toEqual([6000, 4000, 1440, 960]);
    const tall = await prepared(await makePhoto(8, { width: 2000, height: 3000, format: "png" }));
    expect([tall.width, tall.height, tall.format]).toEqual([960, 1440, "png"]);
    const small = await prepared(await makePhoto(9, { width: 600, height: 700, format: "webp" }));
    expect([small.width, small.height, small.format, small.converted]).toEqual([600, 700, "webp", true]);
    const avif = await prepared(await makePhoto(10, { width: 800, height: 600, format: "avif" }));
    expect([avif.width, avif.height, avif.format]).toEqual([800, 600, "avif"]);
    for (const out of [big, tall, small, avif]) {
      expect(await metadataFree(out.jpeg)).toBe(true);
      const m = await sharp(out.jpeg).metadata();
      expect([m.width, m.height, m.space, m.channels, m.isProgressive]).toEqual([out.width, out.height, "srgb", 3, false]);
    }
  });

  it("refuses an image whose shorter side is under 512 px once scaled, naming both sizes", async () => {
    const narrow = await refused(await makePhoto(11, { width: 4000, height: 1200 }));
    expect(narrow.code).toBe("TOO_SMALL");
    expect(narrow.message).toContain("4000x1200");
    expect(narrow.message).toContain("1440x432");
    const tiny = await refused(await makePhoto(12, { width: 500, height: 900 }));
    expect(tiny.code).toBe("TOO_SMALL");
    expect(tiny.message).toContain("500x900");
  });
});

describe("pass-through", () => {
  it("keeps a compliant JPEG byte-for-byte, and a prepared image prepares to itself", async () => {
    const once = await prepared(await withPrivateMetadata(await makePhoto(13, { width: 3000, height: 2000 })));
    expect(once.converted).toBe(true);
    const twice = await prepared(once.jpeg);
    expect(twice.converted).toBe(false);
    expect(twice.metadataRemoved).toEqual([]);
    expect(twice.jpeg.equals(once.jpeg)).toBe(true);

    const compliant = await makePhoto(14, { width: 900, height: 1200 });
    expect((await prepared(compliant)).jpeg.equals(compliant)).toBe(true);
  });

  it("converts a JPEG that is progressive, carries a comment, or is over 1440 px, even without metadata", async () => {
    for (const source of [
      await makePhoto(15, { progressive: true }),
      await makePhoto(16, { width: 1600, height: 1200 }),
    ]) {
      const out = await prepared(source);
      expect(out.converted).toBe(true);
      expect(out.jpeg.equals(source)).toBe(false);
    }
  });
});

describe("bad files", () => {
  it("refuses empty, foreign, truncated and bomb files, each with its own code", async () => {
    const jpeg = await makePhoto(17, { width: 1000, height: 1000 });
    const heic = fixture("heic-collection.heic");
    // A PNG header declaring 20000x20000 pixels (400 megapixels) with almost no data.
    const pngBomb = Buffer.from(await makePhoto(18, { width: 600, height: 600, format: "png" }));
    pngBomb.writeUInt32BE(20000, 16);
    pngBomb.writeUInt32BE(20000, 20);
    // A HEIC whose primary image declares 20000x20000 pixels in its `ispe` property.
    const heicBomb = Buffer.from(heic);
    const ispe = heicBomb.indexOf("ispe", 0, "latin1");
    heicBomb.writeUInt32BE(20000, ispe + 8);
    heicBomb.writeUInt32BE(20000, ispe + 12);
    const iphone = fixture("heic-iphone7.heic");
    const cases: [string, Buffer, string][] = [
      ["0-byte", Buffer.alloc(0), "EMPTY_FILE"],
      ["GIF", Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"), "UNSUPPORTED_FORMAT"],
      ["text named .jpg", Buffer.from("just some text, not a photo"), "UNSUPPORTED_FORMAT"],
      ["truncated JPEG", jpeg.subarray(0, Math.floor(jpeg.length / 2)), "DAMAGED_IMAGE"],
      ["truncated HEIC", heic.subarray(0, Math.floor(heic.length / 2)), "DAMAGED_IMAGE"],
      // libheif alone decodes this one without an error, the missing grid tiles left blank.
      ["iPhone HEIC without its last bytes", iphone.subarray(0, iphone.length - 100), "DAMAGED_IMAGE"],
      ["HEIC bomb", heicBomb, "TOO_MANY_PIXELS"],
      ["PNG bomb", pngBomb, "TOO_MANY_PIXELS"],
    ];
    for (const [what, bytes, code] of cases) {
      const p = await refused(bytes);
      expect(p.code, what).toBe(code);
      expect(p.message.length, what).toBeGreaterThan(20);
    }
  });
});
