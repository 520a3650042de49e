/**
 * The per-set rule: every main face within SAME_PERSON_DISTANCE of the set's reference, the face
 * closest to all others (the medoid: one odd photo cannot drag it the way it drags a mean).
 */
import { differentPerson, type FaceProblem } from "./problems.js";

export type Descriptor = Float32Array | readonly number[];

export function faceDistance(a: Descriptor, b: Descriptor): number {
  if (a.length !== b.length) throw new Error(`face descriptors of different lengths (${a.length}, ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** The element-wise mean: what a user's stored reference is. */
export function meanDescriptor(descriptors: readonly Descriptor[]): Float32Array {
  const first = descriptors[0];
  if (!first) throw new Error("no face descriptors to average");
  const mean = new Float32Array(first.length);
  for (const d of descriptors) for (let i = 0; i < mean.length; i++) mean[i]! += d[i] as number;
  for (let i = 0; i < mean.length; i++) mean[i]! /= descriptors.length;
  return mean;
}

export interface SamePersonResult {
  /** Index into the input of the reference face; -1 for an empty set. */
  readonly reference: number;
  /** Per input face: its distance to the reference (0 for the reference itself). */
  readonly distances: readonly number[];
  /** Per input face: the problem, or null. */
  readonly problems: readonly (FaceProblem | null)[];
}

export function samePerson(descriptors: readonly Descriptor[], threshold: number): SamePersonResult {
  let reference = -1;
  let best = Infinity;
  for (let i = 0; i < descriptors.length; i++) {
    let sum = 0;
    for (let j = 0; j < descriptors.length; j++) if (i !== j) sum += faceDistance(descriptors[i]!, descriptors[j]!);
    if (sum < best) {
      best = sum;
      reference = i;
    }
  }
  const distances = descriptors.map((d, i) => (i === reference ? 0 : faceDistance(d, descriptors[reference]!)));
  const problems = distances.map((d) => (d > threshold ? differentPerson(d, threshold) : null));
  return { reference, distances, problems };
}
