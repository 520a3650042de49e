/**
 * `sselfie prepare` with the identity check, as users run it (the built binary, the face model in
 * the child process): every image's face box, score and distance in the JSON and the manifest; the
 * one photo of someone else named with its distance; the contact sheet written; exit 2.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { facePhoto, PEOPLE, personSet, writeImages } from "../support/face-photos.js";
import { tempDir } from "../support/temp-dirs.js";

it("prepare --json reports each face and names the photo of someone else", { timeout: 180_000 }, async () => {
  const source = tempDir("sselfie-cli-faces-");
  writeImages(source, [...(await personSet("alex", 10)), { name: "zz-stranger.jpg", bytes: facePhoto(PEOPLE.rose[1]) }]);
  const home = tempDir("sselfie-cli-faces-home-");
  const out = join(tempDir("sselfie-cli-faces-out-"), "prepared");
  const r = await runCli(["prepare", "--images", source, "--out", out, "--json"], {
    env: { SSELFIE_HOME: home, DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" },
  });
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toBe("");
  const images = r.json.images as { source: string; width: number; height: number; face: { box: number[]; score: number; distance: number } | null; problems: { code: string; message: string }[] }[];
  expect(r.json.ok).toBe(false);
  expect(images).toHaveLength(11);
  for (const image of images) {
    const [x, y, w, h] = image.face!.box;
    expect(x! >= 0 && y! >= 0 && x! + w! <= image.width + 2 && y! + h! <= image.height + 2).toBe(true);
    expect(h! / Math.min(image.width, image.height)).toBeGreaterThanOrEqual(0.1);
    expect(image.face!.score).toBeGreaterThanOrEqual(0.5);
  }
  const flagged = images.filter((i) => i.problems.length);
  expect(flagged.map((i) => i.source)).toEqual(["zz-stranger.jpg"]);
  expect(flagged[0]!.problems).toEqual([
    { code: "DIFFERENT_PERSON", message: expect.stringMatching(/^looks like a different person: distance 0\.\d\d, same-person threshold 0\.60: /) },
  ]);
  expect(flagged[0]!.face!.distance).toBeGreaterThan(0.6);
  expect(images.filter((i) => i.face!.distance === 0)).toHaveLength(1);
  expect(Math.max(...images.filter((i) => !i.problems.length).map((i) => i.face!.distance))).toBeLessThan(0.6);
  // The manifest is the same document; the contact sheet is a picture of the grid.
  expect(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"))).toEqual(r.json);
  const sheet = await sharp(join(out, "contact-sheet.png")).metadata();
  expect(sheet.format).toBe("png");
  expect(sheet.width).toBeGreaterThan(1000);
});
