/**
 * The identity checks as the preparation pipeline's hooks (src/datasets, DatasetChecks): each
 * prepared image gets its main face checked as soon as it is written, and the set's faces are
 * compared once every image is prepared. One object per preparation: after the set check it holds
 * the set's mean descriptor, which `train` compares with (and later stores as) the user's reference.
 */
import type { DatasetChecks, FaceInfo, ImageCheckResult, SetCheckImage, SetCheckResult } from "../datasets/types.js";
import { checkImageFaces, checkSetIdentity, type ImageFaces } from "./check-faces.js";
import { SAME_PERSON_DISTANCE } from "./thresholds.js";

export interface IdentityChecks extends DatasetChecks<Float32Array> {
  /** After the set check: the mean descriptor of the set's faces when all are one person, else null. */
  readonly setMean: Float32Array | null;
}

export function createIdentityChecks(threshold = SAME_PERSON_DISTANCE): IdentityChecks {
  let setMean: Float32Array | null = null;
  return {
    get setMean() {
      return setMean;
    },

    async checkImage(image): Promise<ImageCheckResult<Float32Array>> {
      image.signal?.throwIfAborted();
      const r = await checkImageFaces(image.jpeg);
      const face: FaceInfo | null = r.face && { box: [...r.face.box], score: r.face.score, distance: null };
      if (r.problem || !r.face) return { face, problems: r.problem ? [r.problem] : [] };
      return { face, problems: [], data: r.face.descriptor };
    },

    async checkSet(images: readonly SetCheckImage<Float32Array>[]): Promise<SetCheckResult> {
      setMean = null;
      const faces = images.filter((img) => img.face && img.data);
      const checked = checkSetIdentity(
        faces.map((img): ImageFaces => ({ face: { box: img.face!.box, score: img.face!.score, descriptor: img.data! }, faceCount: 1, problem: null })),
        threshold,
      );
      setMean = checked.ok ? checked.mean : null;
      return {
        images: checked.images.map((r, k) => ({
          index: faces[k]!.index,
          face: r.face && { box: [...r.face.box], score: r.face.score, distance: r.face.distance },
          problems: r.problems,
        })),
        problems: [],
      };
    },
  };
}
