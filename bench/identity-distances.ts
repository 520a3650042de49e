/**
 * Calibration of the same-person distance (src/identity/thresholds.ts) on real photos.
 *
 * Every single-person photo of test/fixtures/faces and its ten variants (test/support/face-photos.ts:
 * mirrored, cropped, rotated, re-scaled, lighter, darker, grey) go through the identity check as
 * `prepare` runs it; then the euclidean distances of their descriptors, grouped:
 *   same photo        a variant against its own original (what augmentation alone moves)
 *   same person       two different photos of one person (originals; then every variant pair)
 *   different people  two photos of different people (originals; then every variant pair)
 *   set rule          10-image sets of one person: each member's distance to the set's reference,
 *                     and every other person's image's distance to that reference
 *   stored reference  mean descriptor of one photo's variants against the mean of another's
 *
 *   npx tsx bench/identity-distances.ts
 */
import { checkImageFaces, faceDistance, meanDescriptor, samePerson, SAME_PERSON_DISTANCE } from "../src/identity/index.js";
import { median } from "./stats.js";
import { faceVariant, PEOPLE, personSet, VARIANTS, type Person } from "../test/support/face-photos.js";

interface Face {
  person: Person;
  photo: string;
  variant: string;
  descriptor: Float32Array;
}

const faces: Face[] = [];
const misses: string[] = [];
for (const [person, photos] of Object.entries(PEOPLE) as [Person, readonly string[]][]) {
  for (const photo of photos) {
    for (const v of VARIANTS) {
      const r = await checkImageFaces(await faceVariant(photo, v));
      if (!r.face || r.problem) misses.push(`${photo} ${v.name}: ${r.problem?.message ?? "?"}`);
      else faces.push({ person, photo, variant: v.name, descriptor: r.face.descriptor });
    }
  }
}

const groups: Record<string, number[]> = {
  "same photo (variant vs original)": [],
  "same person, different photos (originals)": [],
  "same person, different photos (all variants)": [],
  "different people (originals)": [],
  "different people (all variants)": [],
};
for (let i = 0; i < faces.length; i++) {
  for (let j = i + 1; j < faces.length; j++) {
    const a = faces[i]!;
    const b = faces[j]!;
    const d = faceDistance(a.descriptor, b.descriptor);
    const originals = a.variant === "orig" && b.variant === "orig";
    if (a.photo === b.photo) {
      if (a.variant === "orig" || b.variant === "orig") groups["same photo (variant vs original)"]!.push(d);
    } else if (a.person === b.person) {
      if (originals) groups["same person, different photos (originals)"]!.push(d);
      groups["same person, different photos (all variants)"]!.push(d);
    } else {
      if (originals) groups["different people (originals)"]!.push(d);
      groups["different people (all variants)"]!.push(d);
    }
  }
}

// The set rule as train applies it: 10 images of one person, each against the set's reference.
const members: number[] = [];
const strangers: number[] = [];
for (const person of Object.keys(PEOPLE) as Person[]) {
  if (PEOPLE[person].length < 2) continue;
  const set = await personSet(person, 10);
  const descriptors: Float32Array[] = [];
  for (const img of set) {
    const r = await checkImageFaces(img.bytes);
    if (r.face && !r.problem) descriptors.push(r.face.descriptor);
  }
  const { reference, distances } = samePerson(descriptors, SAME_PERSON_DISTANCE);
  members.push(...distances.filter((_, i) => i !== reference));
  for (const f of faces) if (f.person !== person) strangers.push(faceDistance(f.descriptor, descriptors[reference]!));
}
groups["set rule: member vs set reference"] = members;
groups["set rule: other person vs set reference"] = strangers;

// The stored reference: mean of one photo's variants against the mean of another photo's.
const means = new Map<string, { person: Person; mean: Float32Array }>();
for (const f of faces) {
  if (means.has(f.photo)) continue;
  means.set(f.photo, { person: f.person, mean: meanDescriptor(faces.filter((g) => g.photo === f.photo).map((g) => g.descriptor)) });
}
const meanSame: number[] = [];
const meanDiff: number[] = [];
const photos = [...means.values()];
for (let i = 0; i < photos.length; i++) {
  for (let j = i + 1; j < photos.length; j++) {
    (photos[i]!.person === photos[j]!.person ? meanSame : meanDiff).push(faceDistance(photos[i]!.mean, photos[j]!.mean));
  }
}
groups["stored reference: same person (means)"] = meanSame;
groups["stored reference: different people (means)"] = meanDiff;

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
console.log(`${faces.length} faces from ${new Set(faces.map((f) => f.photo)).size} photos; missed: ${misses.length ? misses.join("; ") : "none"}`);
console.log("| pairs | n | min | 5% | median | 95% | max |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [name, xs] of Object.entries(groups)) {
  if (!xs.length) continue;
  const f = (n: number) => n.toFixed(3);
  console.log(`| ${name} | ${xs.length} | ${f(Math.min(...xs))} | ${f(q(xs, 0.05))} | ${f(median(xs))} | ${f(q(xs, 0.95))} | ${f(Math.max(...xs))} |`);
}
