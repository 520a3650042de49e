/** The identity rules on their own, with made-up faces: no face model here. */
import { describe, expect, it } from "vitest";
import type { DetectedFace, ImageFaces } from "../../src/identity/index.js";
import { InvalidInputError } from "../../src/errors.js";
import { checkSetIdentity, faceDistance, judgeUserIdentity, mainFace, meanDescriptor, samePerson, SAME_PERSON_DISTANCE } from "../../src/identity/index.js";

/** A descriptor `d` away from the origin along axis `axis`. */
function at(d: number, axis = 0): Float32Array {
  const v = new Float32Array(128);
  v[axis] = d;
  return v;
}

function face(height: number, score = 0.9, descriptor = at(0)): DetectedFace {
  return { box: [10, 10, height * 0.75, height], score, descriptor };
}

describe("one main face per image", () => {
  it("takes the tallest face and ignores faces under half its height", () => {
    const r = mainFace([face(40), face(200), face(99)], 1000, 800);
    expect(r).toEqual({ ok: true, face: face(200) });
  });

  it("counts a face at exactly half the main face's height as a second person", () => {
    const r = mainFace([face(200), face(100)], 1000, 800);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toEqual({ code: "SEVERAL_FACES", message: "2 faces: use photos of the user alone" });
  });

  it("ignores detections under confidence 0.5, also as rivals", () => {
    expect(mainFace([face(200, 0.49)], 1000, 800)).toMatchObject({ ok: false, face: null, problem: { code: "NO_FACE" } });
    expect(mainFace([face(200, 0.5), face(190, 0.49)], 1000, 800)).toMatchObject({ ok: true });
  });

  it("needs the face box to be at least 10% of the shorter side", () => {
    expect(mainFace([face(80)], 1000, 800)).toMatchObject({ ok: true });
    const small = mainFace([face(79)], 1000, 800);
    expect(small).toMatchObject({ ok: false, problem: { code: "FACE_TOO_SMALL" } });
    // 9.9% is not rounded up to the 10% it misses.
    expect(!small.ok && small.problem.message).toBe(
      "face too small: 9% of the image's shorter side, at least 10% needed: crop closer to the face or use a closer photo",
    );
    expect(mainFace([face(40)], 400, 1000)).toMatchObject({ ok: true });
  });

  it("says there is no face when nothing was found", () => {
    expect(mainFace([], 100, 100)).toMatchObject({ ok: false, face: null, problem: { code: "NO_FACE", message: expect.stringMatching(/^no face found/) } });
  });
});

describe("one person per set", () => {
  it("measures euclidean distance and averages descriptors", () => {
    expect(faceDistance(at(0.3), at(0.4, 1))).toBeCloseTo(0.5, 6);
    expect(Array.from(meanDescriptor([at(0.2), at(0.4)]).slice(0, 2))).toEqual([expect.closeTo(0.3, 6), 0]);
  });

  it("takes the face closest to all others as the reference and flags what is further than the threshold", () => {
    const set = [at(0.1), at(0), at(-0.1), at(0.05), at(0.87, 3)];
    const r = samePerson(set, 0.6);
    expect(r.reference).toBe(1);
    expect(r.distances.map((d) => Number(d.toFixed(2)))).toEqual([0.1, 0, 0.1, 0.05, 0.87]);
    expect(r.problems.slice(0, 4)).toEqual([null, null, null, null]);
    expect(r.problems[4]).toEqual({
      code: "DIFFERENT_PERSON",
      message: "looks like a different person: distance 0.87, same-person threshold 0.60: use photos of the user only",
    });
  });

  it("is not dragged by one stranger the way a mean would be", () => {
    // Mean of these is 0.2 along axis 0; the medoid stays with the four close faces.
    const r = samePerson([at(0), at(0.05), at(0.1), at(0.05, 1), at(0.8)], 0.6);
    expect(r.problems.map((p) => p?.code ?? null)).toEqual([null, null, null, null, "DIFFERENT_PERSON"]);
  });

  it("leaves images with a face problem out of the comparison and keeps their own problem", () => {
    const ok = (d: Float32Array): ImageFaces => ({ face: { box: [0, 0, 10, 10], score: 0.9, descriptor: d }, faceCount: 1, problem: null });
    const group: ImageFaces = {
      face: { box: [0, 0, 10, 10], score: 0.9, descriptor: at(5) },
      faceCount: 2,
      problem: { code: "SEVERAL_FACES", message: "2 faces: use photos of the user alone" },
    };
    const none: ImageFaces = { face: null, faceCount: 0, problem: { code: "NO_FACE", message: "no face found" } };
    const r = checkSetIdentity([ok(at(0)), group, ok(at(0.1)), none, ok(at(0.05))]);
    expect(r.ok).toBe(false);
    expect(r.mean).toBeNull();
    expect(r.images.map((i) => i.problems.map((p) => p.code))).toEqual([[], ["SEVERAL_FACES"], [], ["NO_FACE"], []]);
    expect(r.images.map((i) => i.face?.distance ?? null)).toEqual([0.05, null, 0.05, null, 0]);
    expect(r.images[1]!.face).toEqual({ box: [0, 0, 10, 10], score: 0.9, distance: null });
  });

  it("gives the mean of a clean set, the future stored reference", () => {
    const ok = (d: Float32Array): ImageFaces => ({ face: { box: [0, 0, 10, 10], score: 0.9, descriptor: d }, faceCount: 1, problem: null });
    const r = checkSetIdentity([ok(at(0.1)), ok(at(0.3))], SAME_PERSON_DISTANCE);
    expect(r.ok).toBe(true);
    expect(r.mean?.[0]).toBeCloseTo(0.2, 6);
  });
});

describe("the right person for a user", () => {
  it("passes without a stored reference, and within the threshold of it", () => {
    expect(judgeUserIdentity("42", at(0.3), null)).toEqual({ check: "passed", distance: null, threshold: SAME_PERSON_DISTANCE });
    expect(judgeUserIdentity("42", at(0.3), at(0.3, 1))).toMatchObject({ check: "passed", distance: 0.424 });
  });

  it("refuses someone else's face with IDENTITY_MISMATCH unless the identity is replaced", () => {
    let err: unknown;
    try {
      judgeUserIdentity("42", at(0.87), at(0));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: "IDENTITY_MISMATCH", details: { userId: "42", distance: 0.87, threshold: 0.6 } });
    expect((err as Error).message).toContain("distance 0.87, same-person threshold 0.60");
    expect((err as Error).message).toContain("--replace-identity");
    expect(judgeUserIdentity("42", at(0.87), at(0), { replaceIdentity: true })).toEqual({ check: "replaced", distance: 0.87, threshold: 0.6 });
  });
});
