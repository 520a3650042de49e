/**
 * Real photos of faces for the identity checks (test/fixtures/faces, see test/fixtures/README.md),
 * and variants of them made with sharp, so that a set of 10+ images of one person can be built from
 * the two or three photos each person has: mirrored, cropped, rotated, re-scaled, lighter, darker.
 * Every variant is a different file (different bytes) of the same face, with its shorter side at
 * least 512 px as preparation requires.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp, { type Sharp } from "sharp";

export const FACES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "faces");

/** The photos, by person: every file shows that person alone. */
export const PEOPLE = {
  alex: ["alex_lacamoire-img1.jpg", "alex_lacamoire1.jpg", "alex-lacamoire.jpg"],
  biden: ["biden-biden.jpg", "biden-biden2.jpg"],
  kit: ["kit_harington-john1.jpg", "kit_harington-john2.jpg", "johnsnow_test1.jpg"],
  rose: ["rose_leslie-img1.jpg", "rose_leslie-img2.jpg"],
  lin: ["lin-manuel-miranda.jpg"],
} as const;
export type Person = keyof typeof PEOPLE;

/** Two people (Kit Harington and Rose Leslie), faces of about the same size. */
export const GROUP_PHOTO = "kit_with_rose.jpg";
/** A street scene without anyone in it (a phone photo, upright, with EXIF). */
export const NO_FACE_PHOTO = "../photos/IMG_5910.jpg";

export function facePhoto(file: string): Buffer {
  return readFileSync(join(FACES_DIR, file));
}

interface Variant {
  readonly name: string;
  /** The shorter side of the result. */
  readonly short: number;
  readonly make: (img: Sharp, width: number, height: number) => Sharp | Promise<Sharp>;
}

const crop = (fx: number, fy: number, share: number) => (img: Sharp, w: number, h: number) =>
  img.extract({
    left: Math.floor(w * (1 - share) * fx),
    top: Math.floor(h * (1 - share) * fy),
    width: Math.floor(w * share),
    height: Math.floor(h * share),
  });

/** Rotates by `deg` and cuts away the filled corners. */
const rotate = (deg: number) => async (img: Sharp, w: number, h: number) => {
  const rad = (Math.abs(deg) * Math.PI) / 180;
  const rw = Math.round(w * Math.cos(rad) + h * Math.sin(rad));
  const rh = Math.round(w * Math.sin(rad) + h * Math.cos(rad));
  const keep = 1 - 2 * Math.sin(rad);
  const rotated = await img.rotate(deg, { background: "#808080" }).jpeg({ quality: 95 }).toBuffer();
  return sharp(rotated).extract({
    left: Math.floor((rw - w * keep) / 2),
    top: Math.floor((rh - h * keep) / 2),
    width: Math.floor(w * keep),
    height: Math.floor(h * keep),
  });
};

/** In this order; a set of n images of one person takes the first variants of each photo in turn. */
export const VARIANTS: readonly Variant[] = [
  { name: "orig", short: 640, make: (img) => img },
  { name: "mirror", short: 600, make: (img) => img.flop() },
  { name: "crop-tl", short: 560, make: crop(0, 0, 0.85) },
  { name: "dark", short: 620, make: (img) => img.modulate({ brightness: 0.7 }) },
  { name: "bright", short: 660, make: (img) => img.modulate({ brightness: 1.3 }).linear(0.9, 10) },
  { name: "grey", short: 580, make: (img) => img.greyscale() },
  { name: "crop-br", short: 720, make: crop(1, 1, 0.85) },
  { name: "mirror-crop", short: 760, make: (img, w, h) => crop(0.5, 0.3, 0.8)(img.flop(), w, h) },
  // Tilted heads are the detector's weak side: these come last, so sets of 10 rarely reach them.
  { name: "rot-5", short: 680, make: rotate(5) },
  { name: "rot+7", short: 600, make: rotate(-7) },
];

/** One variant of a photo as JPEG bytes. */
export async function faceVariant(file: string, variant: Variant): Promise<Buffer> {
  const source = facePhoto(file);
  const { width, height } = await sharp(source).metadata();
  // Materialise the variant's own step, so the final size is measured on what it made.
  const made = await (await variant.make(sharp(source), width, height)).jpeg({ quality: 95 }).toBuffer();
  const img = sharp(made);
  const m = await img.metadata();
  const scale = variant.short / Math.min(m.width, m.height);
  return img
    .resize(Math.round(m.width * scale), Math.round(m.height * scale))
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** `count` different images of one person, named `<person>-NN-<variant>.jpg`. */
export async function personSet(person: Person, count: number): Promise<{ name: string; bytes: Buffer }[]> {
  const photos = PEOPLE[person];
  const out: { name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const file = photos[i % photos.length]!;
    const variant = VARIANTS[Math.floor(i / photos.length) % VARIANTS.length]!;
    if (i >= photos.length * VARIANTS.length) throw new Error(`at most ${photos.length * VARIANTS.length} images of ${person}`);
    out.push({ name: `${person}-${String(i + 1).padStart(2, "0")}-${variant.name}.jpg`, bytes: await faceVariant(file, variant) });
  }
  return out;
}

/** Writes files into `dir` (created), returning their paths. */
export function writeImages(dir: string, images: readonly { name: string; bytes: Buffer }[]): string[] {
  mkdirSync(dir, { recursive: true });
  return images.map((img) => {
    const path = join(dir, img.name);
    writeFileSync(path, img.bytes);
    return path;
  });
}
