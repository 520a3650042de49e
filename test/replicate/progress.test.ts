import { describe, expect, it } from "vitest";
import { isTerminalStatus, parseTrainingProgress, parseVersionRef } from "../../src/replicate/index.js";

const HEX = "a".repeat(64);

describe("parseTrainingProgress", () => {
  it("reads the trainer's tqdm line", () => {
    const logs = "flux_train_replicate:  10%|█         | 100/1000 [01:23<11:07,  1.35it/s, lr: 4.0e-04 loss: 3.1e-01]";
    expect(parseTrainingProgress(logs)).toEqual({ step: 100, total: 1000, percent: 10, etaSeconds: 667 });
  });

  it("takes the last line with the trainer's prefix, ignoring other bars", () => {
    const logs = [
      "Loading checkpoint shards: 100%|██████████| 3/3 [00:02<00:00,  1.10it/s]",
      "flux_train_replicate:   5%|▌         | 50/1000 [00:40<12:40,  1.25it/s]",
      "flux_train_replicate:   6%|▌         | 60/1000 [00:48<12:32,  1.25it/s]",
      "Captioning: 90%|█████████ | 9/10 [00:09<00:01,  1.0it/s]",
      "saving checkpoint",
    ].join("\n");
    expect(parseTrainingProgress(logs)).toMatchObject({ step: 60, total: 1000, percent: 6, etaSeconds: 752 });
  });

  it("splits redraws joined by carriage returns within one line", () => {
    const logs =
      "flux_train_replicate:  1%|          | 10/1000 [00:08<13:12,  1.25it/s]\r" +
      "flux_train_replicate:  2%|▏         | 20/1000 [00:16<13:04,  1.25it/s]\r" +
      "flux_train_replicate:  3%|▎         | 33/1000 [00:26<1:02:03,  1.25it/s]\n";
    expect(parseTrainingProgress(logs)).toEqual({ step: 33, total: 1000, percent: 3.3, etaSeconds: 3723 });
  });

  it("skips a last line cut off mid-write and uses the one before", () => {
    const logs =
      "flux_train_replicate:  20%|██        | 200/1000 [02:40<10:40,  1.25it/s]\n" + "flux_train_replicate:  20%|██        | 201/10";
    expect(parseTrainingProgress(logs)).toMatchObject({ step: 200, total: 1000 });
  });

  it("leaves the ETA out while tqdm cannot estimate it", () => {
    expect(parseTrainingProgress("flux_train_replicate:   0%|          | 0/1000 [00:00<?, ?it/s]")).toEqual({
      step: 0,
      total: 1000,
      percent: 0,
    });
  });

  it("returns null when there is no trainer bar", () => {
    expect(parseTrainingProgress(null)).toBeNull();
    expect(parseTrainingProgress("")).toBeNull();
    expect(parseTrainingProgress("100%|██████████| 1000/1000 [13:20<00:00,  1.25it/s]")).toBeNull();
  });
});

describe("parseVersionRef", () => {
  it("splits owner/name:version", () => {
    expect(parseVersionRef(`alice/u42-selfie-lora:${HEX}`)).toEqual({ owner: "alice", name: "u42-selfie-lora", versionId: HEX });
  });
  it("refuses anything else", () => {
    for (const bad of ["alice/model", `alice:${HEX}`, `alice/model:${HEX.slice(1)}`, `alice/model:${HEX.toUpperCase()}`, ""]) {
      expect(() => parseVersionRef(bad)).toThrow(/Invalid model version reference/);
    }
  });
});

describe("isTerminalStatus", () => {
  it("knows aborted is terminal", () => {
    expect(["succeeded", "failed", "canceled", "aborted"].every(isTerminalStatus)).toBe(true);
    expect(["starting", "processing", "queued"].some(isTerminalStatus)).toBe(false);
  });
});
