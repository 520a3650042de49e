/**
 * The identity rules' numbers (CONTRACT.md, "Identity: one person, the right person").
 * SAME_PERSON_DISTANCE is calibrated on real photos: see bench/README.md, "Identity".
 */

/** A detection counts as a face from this detector confidence on. */
export const MIN_FACE_SCORE = 0.5;

/** The main face's box height must be at least this share of the image's shorter side. */
export const MIN_FACE_SHARE = 0.1;

/** A second face at least this share of the main face's height makes the photo a group photo. */
export const SECOND_FACE_SHARE = 0.5;

/** Two faces further apart than this (euclidean, 128-number descriptors) are different people. */
export const SAME_PERSON_DISTANCE = 0.6;
