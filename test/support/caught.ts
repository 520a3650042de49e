import { expect } from "vitest";
import { SselfieError } from "../../src/errors.js";

/** A SselfieError, with the HTTP status and detail a ReplicateError also carries. */
export type CaughtError = SselfieError & { status?: number; detail?: string };

/** The error `promise` rejects with, to assert on; the test fails if it resolves or rejects with anything but a SselfieError. */
export async function caught(promise: Promise<unknown>): Promise<CaughtError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SselfieError);
    return err as CaughtError;
  }
  throw new Error("expected a rejection, got a result");
}
