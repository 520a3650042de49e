import { describe, expect, it } from "vitest";
import { describeStatus, formatDuration, progressLine, statusPayload } from "../../src/cli/commands/status.js";
import { Output } from "../../src/cli/output.js";
import { InvalidInputError } from "../../src/errors.js";
import { STATUSES } from "../../src/replicate/index.js";
import { mapReplicateStatus, validateSteps, type TrainingStatusResult } from "../../src/training/index.js";
import { trainingInput } from "../../src/training/training-input.js";

describe("training rules", () => {
  it("maps every Replicate status as CONTRACT.md says", () => {
    expect(Object.fromEntries(STATUSES.map((s) => [s, mapReplicateStatus(s)]))).toEqual({
      starting: "training",
      processing: "training",
      succeeded: "completed",
      failed: "failed",
      aborted: "failed",
      canceled: "canceled",
    });
  });

  it("accepts steps from 100 to 6000 only, as numbers or digit strings", () => {
    expect(validateSteps(100)).toBe(100);
    expect(validateSteps("6000")).toBe(6000);
    for (const bad of [99, 6001, 0, -5, 1000.5, "1e3", "", " ", null, "abc", Number.POSITIVE_INFINITY]) {
      expect(() => validateSteps(bad)).toThrow(InvalidInputError);
    }
  });

  it("sends only the upload, the trigger word and the caller's steps", () => {
    expect(trainingInput("https://x/f.zip", "user42", undefined)).toEqual({ input_images: "https://x/f.zip", trigger_word: "user42" });
    expect(trainingInput("https://x/f.zip", "user42", 500)).toEqual({ input_images: "https://x/f.zip", trigger_word: "user42", steps: 500 });
  });
});

describe("status rendering", () => {
  const base: TrainingStatusResult = {
    userId: "42",
    status: "training",
    modelId: "alice/42-selfie-lora",
    versionId: null,
    trainingId: "t1",
    progress: { step: 500, total: 1000 },
    error: null,
    percent: 50,
    etaSeconds: 130,
    predictTime: null,
    replicateStatus: "processing",
  };
  const out = new Output({ json: false, color: false });

  it("prints exactly the contract's fields in JSON", () => {
    expect(Object.keys(statusPayload(base)).sort()).toEqual(["error", "modelId", "progress", "status", "trainingId", "userId", "versionId"]);
  });

  it("shows step N of M, the percentage and the time left", () => {
    expect(formatDuration(45)).toBe("45s");
    expect(formatDuration(130)).toBe("2m 10s");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("3h 05m");
    expect(progressLine(base)).toBe("Training user 42 [############............] 50% 500/1000 · about 2m 10s left");
    expect(describeStatus(base, out)).toMatch(/step 500 of 1000 \(50%\), about 2m 10s left/);
    const done = describeStatus({ ...base, status: "completed", versionId: "a".repeat(64), etaSeconds: null, predictTime: 812.4 }, out);
    expect(done).toMatch(/Compute: +812\.4 s/);
    const failed = describeStatus({ ...base, status: "failed", versionId: "b".repeat(64), error: "boom" }, out);
    expect(failed).toMatch(/Error: +boom/);
    expect(failed).toMatch(/previous version stays active/);
  });
});
