import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { createImageScanner, detectImage } from "../../src/training/dataset/index.js";
import {
  corruptPngData,
  jpegWithoutEoi,
  makeGif,
  makeHeic,
  makeJpeg,
  makeLossyWebpHeader,
  makePng,
  makeWebp,
  pngWithoutIend,
  truncate,
  webpWithRiffSizeOff,
} from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

/** A 520x530 lossy WebP written by cwebp 1.2.4 (a real encoder's output, not ours). */
const CWEBP_LOSSY = Buffer.from(
  "UklGRjQCAABXRUJQVlA4ICgCAACQPwCdASoIAhICPtFosVMoJiSioAgBABoJaW7hd2EbQAnsA99snIe+2TkPfbJyHvtk5D32ych7" +
    "7ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99s" +
    "nIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2Tk" +
    "PfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHv" +
    "tk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32y" +
    "ch77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ" +
    "99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+2TkPfbJyHvtk5D32ych77ZOQ99snIe+" +
    "2TkPfbJyHvtk5DeAAP7/qeIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  "base64",
);

const png = makePng({ width: 768, height: 1024, seed: 1 });
const jpeg = makeJpeg({ width: 600, height: 800, seed: 1 });
const webp = makeWebp({ width: 700, height: 900, seed: 1 });

/** Feeds the bytes in pieces of `size`, as a stream would. */
function detectInPieces(bytes: Buffer, size: number) {
  const scanner = createImageScanner();
  for (let at = 0; at < bytes.length; at += size) scanner.push(bytes.subarray(at, at + size));
  return scanner.finish();
}

describe("detectImage: valid images", () => {
  it.each([
    ["PNG", png, { format: "png", width: 768, height: 1024 }],
    ["JPEG (jpeg-js)", jpeg, { format: "jpeg", width: 600, height: 800 }],
    ["WebP lossless (VP8L)", webp, { format: "webp", width: 700, height: 900 }],
    ["WebP lossy (cwebp)", CWEBP_LOSSY, { format: "webp", width: 520, height: 530 }],
    ["WebP lossy header", makeLossyWebpHeader({ width: 1000, height: 750 }), { format: "webp", width: 1000, height: 750 }],
    ["WebP extended (VP8X)", makeLossyWebpHeader({ width: 640, height: 960, extended: true }), { format: "webp", width: 640, height: 960 }],
  ])("reads the format and size of a %s from its headers", (_name, bytes, expected) => {
    expect(detectImage(bytes)).toEqual(expected);
  });

  it.each([1, 7, 4096])("gives the same answer when the bytes arrive %i at a time", (size) => {
    for (const bytes of [png, jpeg, webp, CWEBP_LOSSY]) expect(detectInPieces(bytes, size)).toEqual(detectImage(bytes));
  });

  it("reads a progressive JPEG's size (SOF2, several scans)", async () => {
    // A real progressive JPEG from libjpeg (through sharp): SOF2 and a run of scans, each its own SOS.
    const pixels = Buffer.alloc(600 * 800 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31) % 251;
    const progressive = await sharp(pixels, { raw: { width: 600, height: 800, channels: 3 } }).jpeg({ progressive: true }).toBuffer();
    expect(progressive.includes(Buffer.from([0xff, 0xc2]))).toBe(true);
    let scans = 0;
    for (let i = progressive.indexOf(Buffer.from([0xff, 0xda])); i >= 0; i = progressive.indexOf(Buffer.from([0xff, 0xda]), i + 2)) scans++;
    expect(scans).toBeGreaterThan(3);
    expect(detectImage(progressive)).toEqual({ format: "jpeg", width: 600, height: 800 });
    for (const size of [1, 977]) expect(detectInPieces(progressive, size)).toEqual({ format: "jpeg", width: 600, height: 800 });
  });

  it("tolerates bytes after a JPEG's EOI (motion photos) and after a PNG's IEND", () => {
    const trailer = Buffer.from("....ftypmp42 trailing video data");
    expect(detectImage(Buffer.concat([jpeg, trailer]))).toEqual({ format: "jpeg", width: 600, height: 800 });
    expect(detectImage(Buffer.concat([png, trailer]))).toEqual({ format: "png", width: 768, height: 1024 });
  });

  it("answers from the head alone with { partial: true }", () => {
    expect(detectImage(png.subarray(0, 33), { partial: true })).toEqual({ format: "png", width: 768, height: 1024 });
    expect(detectImage(jpeg.subarray(0, 1000), { partial: true })).toEqual({ format: "jpeg", width: 600, height: 800 });
    expect(detectImage(png.subarray(0, 33))).toEqual({ problem: "truncated: the file ends before any image data" });
    expect(detectImage(png.subarray(0, 20), { partial: true })).toEqual({ problem: "truncated: the file ends inside the IHDR chunk" });
  });
});

describe("detectImage: refused files", () => {
  it.each([
    ["a GIF", makeGif(), /^a GIF image, not a JPEG, PNG or WebP/],
    ["a HEIC", makeHeic(), /^a HEIC\/HEIF image \(the iPhone default\), not a JPEG, PNG or WebP: convert it/],
    ["text", Buffer.from("just some notes about the shoot"), /^not a JPEG, PNG or WebP image/],
    ["an empty file", Buffer.alloc(0), /^empty file$/],
    ["a PNG cut in its pixel data", truncate(png, 5000), /^truncated: the file ends inside the IDAT chunk$/],
    ["a PNG without IEND", pngWithoutIend(png), /^truncated: the file ends before the IEND chunk$/],
    ["a PNG whose data no longer matches its CRC", corruptPngData(png), /^corrupt PNG: bad CRC in the IDAT chunk/],
    ["a JPEG without EOI", jpegWithoutEoi(jpeg), /^truncated: the file ends inside the image data, before the end-of-image \(EOI\) marker$/],
    ["a JPEG cut in its headers", truncate(jpeg, 100), /^truncated: the file ends inside a (DQT|DHT) segment$/],
    ["a JPEG with only its signature", truncate(jpeg, 3), /^truncated/],
    ["a WebP cut short", truncate(CWEBP_LOSSY, 300), /^truncated: the file ends inside the VP8 chunk$/],
    ["a WebP whose RIFF size is too small", webpWithRiffSizeOff(CWEBP_LOSSY, -8), /^corrupt WebP: the VP8 chunk runs past the RIFF size$/],
    ["a WebP longer than its RIFF size", Buffer.concat([webp, Buffer.alloc(4)]), /^corrupt WebP: the file is longer than its RIFF header declares$/],
    ["an animated WebP", makeLossyWebpHeader({ width: 600, height: 600, animated: true }), /^animated WebP/],
  ])("refuses %s", (_name, bytes, problem) => {
    const result = detectImage(bytes);
    expect(result).toHaveProperty("problem");
    expect((result as { problem: string }).problem).toMatch(problem);
  });

  it("refuses a JPEG in a coding other than baseline, extended or progressive", () => {
    const lossless = Buffer.from(jpeg);
    lossless[lossless.indexOf(Buffer.from([0xff, 0xc0])) + 1] = 0xc3;
    expect(detectImage(lossless)).toEqual({
      problem: expect.stringMatching(/^JPEG in a coding the trainer's decoder may not read/) as unknown as string,
    });
  });

  it("refuses a JPEG whose segment length runs past the end of the file", () => {
    const cut = Buffer.from(jpeg.subarray(0, 40));
    expect(detectImage(cut)).toHaveProperty("problem", expect.stringMatching(/^truncated: the file ends inside/));
  });
});

const dwebp = spawnSync("dwebp", ["-version"]).status === 0;

describe("the test WebP maker", () => {
  // libwebp's own decoder, where installed (Debian: apt-get install webp); the other tests rely on
  // makeWebp writing a WebP a real decoder accepts, not just one our parser accepts.
  it.skipIf(!dwebp)("writes a lossless WebP that libwebp decodes to the right size and colour", () => {
    const dir = tempDir("sselfie-webp-");
    writeFileSync(join(dir, "in.webp"), makeWebp({ width: 530, height: 700, seed: 5 }));
    const run = spawnSync("dwebp", [join(dir, "in.webp"), "-ppm", "-o", join(dir, "out.ppm")]);
    expect(run.status).toBe(0);
    const ppm = readFileSync(join(dir, "out.ppm"));
    const header = "P6\n530 700\n255\n";
    expect(ppm.subarray(0, header.length).toString("latin1")).toBe(header);
    expect(ppm.length).toBe(header.length + 530 * 700 * 3);
    const colour = (5 * 2654435761) >>> 8;
    expect([...ppm.subarray(header.length, header.length + 3)]).toEqual([(colour >> 16) & 255, (colour >> 8) & 255, colour & 255]);
  });
});
