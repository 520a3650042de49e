/**
 * The right person: a new photo set of a user who already has a model must show the face that
 * model was trained on (the stored reference, a mean descriptor). Compared only with that same
 * user's reference; the reference itself never leaves the store.
 */
import { InvalidInputError } from "../errors.js";
import { faceDistance } from "./same-person.js";
import { SAME_PERSON_DISTANCE } from "./thresholds.js";

export const IDENTITY_MISMATCH = "IDENTITY_MISMATCH";

/** What a training records about its set's faces (`trainings.identity_check`). */
export type IdentityCheck = "passed" | "replaced";

export interface IdentityVerdict {
  readonly check: IdentityCheck;
  /** From the set's mean face to the user's reference; null when the user has none yet. */
  readonly distance: number | null;
  readonly threshold: number;
}

/**
 * `setMean`: the new set's mean descriptor (the set already passed the per-image and per-set
 * checks); `reference`: the user's stored one, or null. Throws IDENTITY_MISMATCH (exit 2) for
 * someone else's face unless the operator said `replaceIdentity`.
 */
export function judgeUserIdentity(
  userId: string,
  setMean: Float32Array,
  reference: Float32Array | null,
  opts: { replaceIdentity?: boolean; threshold?: number } = {},
): IdentityVerdict {
  const threshold = opts.threshold ?? SAME_PERSON_DISTANCE;
  if (!reference) return { check: "passed", distance: null, threshold };
  const distance = Math.round(faceDistance(setMean, reference) * 1000) / 1000;
  if (distance <= threshold) return { check: "passed", distance, threshold };
  if (opts.replaceIdentity) return { check: "replaced", distance, threshold };
  throw new InvalidInputError(
    `These photos do not look like user ${userId}, whose model was trained on another face: distance ${distance.toFixed(2)}, ` +
      `same-person threshold ${threshold.toFixed(2)}. Nothing was uploaded. Use photos of user ${userId}; if this user id really ` +
      `changes hands, run train again with --replace-identity (it is recorded).`,
    { userId, distance, threshold },
    IDENTITY_MISMATCH,
  );
}
