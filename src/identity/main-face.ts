/**
 * The per-image rule: exactly one main face, large enough, and no second face half its height
 * or more (smaller faces in the background are ignored).
 */
import type { DetectedFace } from "./face-model.js";
import { faceTooSmall, noFace, severalFaces, type FaceProblem } from "./problems.js";
import { MIN_FACE_SCORE, MIN_FACE_SHARE, SECOND_FACE_SHARE } from "./thresholds.js";

export type MainFaceResult =
  | { readonly ok: true; readonly face: DetectedFace }
  | { readonly ok: false; readonly face: DetectedFace | null; readonly problem: FaceProblem };

/** `faces` in any order; `width` and `height` are the image's, in the faces' coordinates. */
export function mainFace(faces: readonly DetectedFace[], width: number, height: number): MainFaceResult {
  const found = faces.filter((f) => f.score >= MIN_FACE_SCORE).sort((a, b) => b.box[3] - a.box[3]);
  const main = found[0];
  if (!main) return { ok: false, face: null, problem: noFace() };
  const rivals = found.filter((f) => f.box[3] >= main.box[3] * SECOND_FACE_SHARE);
  if (rivals.length > 1) return { ok: false, face: main, problem: severalFaces(rivals.length) };
  const share = main.box[3] / Math.min(width, height);
  if (share < MIN_FACE_SHARE) return { ok: false, face: main, problem: faceTooSmall(share, MIN_FACE_SHARE) };
  return { ok: true, face: main };
}
