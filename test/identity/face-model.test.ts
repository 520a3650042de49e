/**
 * The identity checks on real photos with the real face model (loaded once for this file).
 * Photos: test/fixtures/faces (see test/fixtures/README.md); sets of one person are built from
 * variants of that person's two or three photos (test/support/face-photos.ts).
 */
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { checkImageFaces, checkSetIdentity, loadFaceModel, SAME_PERSON_DISTANCE, type ImageFaces } from "../../src/identity/index.js";
import { facePhoto, GROUP_PHOTO, NO_FACE_PHOTO, PEOPLE, personSet } from "../support/face-photos.js";

let alex: { name: string; bytes: Buffer }[];

beforeAll(async () => {
  await loadFaceModel();
  alex = await personSet("alex", 10);
}, 120_000);

async function checkAll(images: readonly { bytes: Buffer }[]): Promise<ImageFaces[]> {
  const out: ImageFaces[] = [];
  for (const img of images) out.push(await checkImageFaces(img.bytes));
  return out;
}

describe("the face model", () => {
  it("loads once per process and leaves the process's error handlers alone", async () => {
    const before = [process.listenerCount("uncaughtException"), process.listenerCount("unhandledRejection")];
    expect(await loadFaceModel()).toBe(await loadFaceModel());
    expect([process.listenerCount("uncaughtException"), process.listenerCount("unhandledRejection")]).toEqual(before);
  });

  it.each(Object.values(PEOPLE).flat())("finds exactly one main face in %s", async (file) => {
    const r = await checkImageFaces(facePhoto(file));
    expect(r.problem).toBeNull();
    expect(r.face!.score).toBeGreaterThanOrEqual(0.5);
    expect(r.face!.descriptor).toHaveLength(128);
  });

  it("reports a group photo as several faces, and a street scene as no face", async () => {
    const group = await checkImageFaces(facePhoto(GROUP_PHOTO));
    expect(group.problem).toEqual({ code: "SEVERAL_FACES", message: "2 faces: use photos of the user alone" });
    const none = await checkImageFaces(facePhoto(NO_FACE_PHOTO));
    expect(none).toMatchObject({ face: null, faceCount: 0, problem: { code: "NO_FACE" } });
  });

  it("reports a face that is too small for its picture", async () => {
    // A head-and-shoulders photo pasted small into a larger grey picture: a face about 7% high.
    const small = await sharp(facePhoto("lin-manuel-miranda.jpg")).resize({ height: 90 }).toBuffer();
    const far = await sharp({ create: { width: 800, height: 800, channels: 3, background: "#7a8a7a" } })
      .composite([{ input: small, left: 330, top: 300 }])
      .jpeg()
      .toBuffer();
    const r = await checkImageFaces(far);
    expect(r.problem?.code).toBe("FACE_TOO_SMALL");
    expect(r.problem?.message).toMatch(/^face too small: [5-9]% of the image's shorter side, at least 10% needed/);
  });

  it("gives the face box in the checked image's own pixels, whatever the working size", async () => {
    const [orig] = alex;
    const { width } = await sharp(orig!.bytes).metadata();
    const big = await sharp(orig!.bytes).resize({ width: width * 2 }).jpeg().toBuffer();
    const a = (await checkImageFaces(orig!.bytes)).face!.box;
    const b = (await checkImageFaces(big)).face!.box;
    // The original and its copy twice as large (beyond the working size): twice the box, within a few pixels.
    b.forEach((v, i) => expect(Math.abs(v - 2 * a[i]!)).toBeLessThanOrEqual(8));
  });
});

describe("a set of one person", () => {
  it("passes: every face close to the reference, and a mean to store", async () => {
    const set = checkSetIdentity(await checkAll(alex));
    expect(set.images.flatMap((i) => i.problems)).toEqual([]);
    expect(set.ok).toBe(true);
    expect(set.mean).toHaveLength(128);
    const distances = set.images.map((i) => i.face!.distance!);
    expect(distances.filter((d) => d === 0)).toHaveLength(1);
    expect(Math.max(...distances)).toBeLessThan(SAME_PERSON_DISTANCE);
    // Variants of two or three photos, not ten copies of one: some pairs are as far as real photos.
    expect(Math.max(...distances)).toBeGreaterThan(0.3);
  });

  it.each(["biden", "rose", "kit"] as const)("fails on one photo of %s, naming only that image", async (other) => {
    const stranger = { name: "stranger.jpg", bytes: facePhoto(PEOPLE[other][0]) };
    const images = [...alex.slice(0, 5), stranger, ...alex.slice(5)];
    const set = checkSetIdentity(await checkAll(images));
    expect(set.ok).toBe(false);
    expect(set.mean).toBeNull();
    const flagged = set.images.flatMap((img, i) => (img.problems.length ? [images[i]!.name] : []));
    expect(flagged).toEqual(["stranger.jpg"]);
    const problem = set.images[5]!.problems[0]!;
    expect(problem.code).toBe("DIFFERENT_PERSON");
    expect(problem.message).toMatch(/^looks like a different person: distance 0\.\d\d, same-person threshold 0\.60: /);
    expect(set.images[5]!.face!.distance!).toBeGreaterThan(SAME_PERSON_DISTANCE);
  });
});
