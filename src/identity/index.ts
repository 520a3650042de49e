/** Identity checks: one person per image set, the right person for a user (CONTRACT.md, "Identity"). */
export { checkImageFaces, checkSetIdentity, type FaceBox, type ImageFaces, type ImageIdentity, type SetIdentity } from "./check-faces.js";
export { loadFaceModel, type DetectedFace, type FaceModel } from "./face-model.js";
export { readFacePixels, FACE_WORKING_SIZE, type FacePixels, type RgbPixels } from "./face-pixels.js";
export { mainFace, type MainFaceResult } from "./main-face.js";
export type { FaceProblem, FaceProblemCode } from "./problems.js";
export { faceDistance, meanDescriptor, samePerson, type Descriptor, type SamePersonResult } from "./same-person.js";
export { MIN_FACE_SCORE, MIN_FACE_SHARE, SECOND_FACE_SHARE, SAME_PERSON_DISTANCE } from "./thresholds.js";
export { createIdentityChecks, type IdentityChecks } from "./dataset-checks.js";
export { judgeUserIdentity, IDENTITY_MISMATCH, type IdentityCheck, type IdentityVerdict } from "./user-identity.js";
