/** A face problem of one image, worded so the operator knows what to do. */
export interface FaceProblem {
  readonly code: FaceProblemCode;
  readonly message: string;
}

export type FaceProblemCode = "NO_FACE" | "SEVERAL_FACES" | "FACE_TOO_SMALL" | "DIFFERENT_PERSON";

export function noFace(): FaceProblem {
  return { code: "NO_FACE", message: "no face found: use photos where the user's face is clearly visible" };
}

export function severalFaces(count: number): FaceProblem {
  return { code: "SEVERAL_FACES", message: `${count} faces: use photos of the user alone` };
}

export function faceTooSmall(share: number, minShare: number): FaceProblem {
  return {
    code: "FACE_TOO_SMALL",
    message: `face too small: ${Math.floor(share * 100)}% of the image's shorter side, at least ${Math.round(minShare * 100)}% needed: crop closer to the face or use a closer photo`,
  };
}

export function differentPerson(distance: number, threshold: number): FaceProblem {
  return {
    code: "DIFFERENT_PERSON",
    message: `looks like a different person: distance ${distance.toFixed(2)}, same-person threshold ${threshold.toFixed(2)}: use photos of the user only`,
  };
}
