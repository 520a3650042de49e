/**
 * The identity checks of one image set: per image the main face (main-face.ts), per set one person
 * (same-person.ts). Images are read one at a time; their faces are remembered by content, so a set
 * checked by `prepare` and then by `train` in one process is read by the face model once.
 */
import { createHash } from "node:crypto";
import { loadFaceModel, type DetectedFace } from "./face-model.js";
import { readFacePixels } from "./face-pixels.js";
import { mainFace } from "./main-face.js";
import type { FaceProblem } from "./problems.js";
import { meanDescriptor, samePerson } from "./same-person.js";
import { SAME_PERSON_DISTANCE } from "./thresholds.js";

/** A face in the checked image's own pixels, rounded: what the manifest and contact sheet show. */
export interface FaceBox {
  readonly box: readonly [number, number, number, number];
  readonly score: number;
}

/** What one image showed the face model. */
export interface ImageFaces {
  /** The main face (also when it is a problem), or null when none was found. */
  readonly face: (FaceBox & { readonly descriptor: Float32Array }) | null;
  /** Every face counted, main face included. */
  readonly faceCount: number;
  readonly problem: FaceProblem | null;
}

export interface ImageIdentity {
  /** `distance`: to the set's reference face; null when the image has no usable face. */
  readonly face: (FaceBox & { readonly distance: number | null }) | null;
  readonly problems: readonly FaceProblem[];
}

export interface SetIdentity {
  /** In the order of the input. */
  readonly images: readonly ImageIdentity[];
  /** Whether no image has a face problem. */
  readonly ok: boolean;
  /** The mean descriptor of the set's faces when ok: what a user's stored reference becomes. */
  readonly mean: Float32Array | null;
}

const remembered = new Map<string, ImageFaces>();
const REMEMBER = 256;

/** Finds the faces of one upright image (encoded: JPEG, PNG, ...) and applies the per-image rule. */
export async function checkImageFaces(image: Buffer | Uint8Array): Promise<ImageFaces> {
  const key = createHash("sha256").update(image).digest("hex");
  const known = remembered.get(key);
  if (known) return known;
  const model = await loadFaceModel();
  const { pixels, scale } = await readFacePixels(image);
  const faces = await model.detect(pixels);
  const verdict = mainFace(faces, pixels.width, pixels.height);
  const result: ImageFaces = {
    face: verdict.face && { ...inSourcePixels(verdict.face, scale), descriptor: verdict.face.descriptor },
    faceCount: faces.length,
    problem: verdict.ok ? null : verdict.problem,
  };
  remembered.set(key, result);
  if (remembered.size > REMEMBER) remembered.delete(remembered.keys().next().value!);
  return result;
}

/** The per-set rule over images checked by checkImageFaces; images with a face problem sit it out. */
export function checkSetIdentity(images: readonly ImageFaces[], threshold = SAME_PERSON_DISTANCE): SetIdentity {
  const usable = images.flatMap((img, i) => (img.problem === null && img.face ? [i] : []));
  const set = samePerson(usable.map((i) => images[i]!.face!.descriptor), threshold);
  const distance = new Map(usable.map((imageIndex, k) => [imageIndex, k]));
  const result = images.map((img, i): ImageIdentity => {
    const k = distance.get(i);
    const face = img.face && { box: img.face.box, score: img.face.score, distance: k === undefined ? null : round(set.distances[k]!) };
    const problems = [img.problem, k === undefined ? null : set.problems[k]!].filter((p): p is FaceProblem => p !== null);
    return { face, problems };
  });
  const ok = result.every((r) => r.problems.length === 0);
  return {
    images: result,
    ok,
    mean: ok && usable.length > 0 ? meanDescriptor(usable.map((i) => images[i]!.face!.descriptor)) : null,
  };
}

function inSourcePixels(face: DetectedFace, scale: number): FaceBox {
  const [x, y, w, h] = face.box.map((v) => Math.round(v * scale)) as [number, number, number, number];
  return { box: [x, y, w, h], score: round(face.score) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
