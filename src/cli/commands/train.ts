import { InvalidInputError, validateSteps, validateUserId, type DatasetSummary } from "../../index.js";
import type { CliCommand } from "../command.js";
import { describeStatus, followTraining } from "./status.js";

function describeDataset(d: DatasetSummary): string {
  return `${d.converted} converted, ${d.resized} resized, ${d.rotated} turned upright, metadata removed from ${d.metadataRemoved}`;
}

export interface TrainCliOptions {
  userId: string;
  images: string;
  steps: number | undefined;
  wait: boolean;
  replaceIdentity: boolean;
}

export const trainCommand: CliCommand<TrainCliOptions> = {
  scope: "train",
  action: "train",
  parse(o) {
    const userId = validateUserId(o.user);
    if (typeof o.images !== "string" || o.images.trim() === "") {
      throw new InvalidInputError("--images needs a folder of photos or a .zip of them.", {}, "INVALID_IMAGES");
    }
    const steps = o.steps === undefined ? undefined : validateSteps(o.steps);
    return { userId, images: o.images, steps, wait: Boolean(o.wait), replaceIdentity: Boolean(o.replaceIdentity) };
  },
  userId: (o) => o.userId,
  abortable: true,
  async run({ sselfie, principal, out, signal }, o) {
    const actor = principal?.name ?? null;
    const spinner = await out.progress(`Preparing, packaging and uploading user ${o.userId}'s photos…`);
    let started;
    try {
      started = await sselfie.trainings.start(
        {
          userId: o.userId,
          images: o.images,
          ...(o.steps === undefined ? {} : { steps: o.steps }),
          ...(o.replaceIdentity ? { replaceIdentity: true } : {}),
        },
        { actor, signal },
      );
    } finally {
      spinner.stop();
    }
    const startedText = [
      `${out.green("✓")} Started training ${started.trainingId} for user ${o.userId}.`,
      `  Model:        ${started.modelId} (private${started.modelCreated ? ", created now" : ""})`,
      `  Trigger word: ${started.triggerWord}`,
      `  Images:       ${started.manifest.length} prepared (${describeDataset(started.dataset)}; zip of ${(started.zipSize / 1_000_000).toFixed(1)} MB)`,
      `  Steps:        ${started.steps ?? "trainer default (1000)"}`,
    ];
    if (!o.wait) {
      return {
        payload: {
          userId: started.userId,
          trainingId: started.trainingId,
          modelId: started.modelId,
          triggerWord: started.triggerWord,
          status: started.status,
          dataset: started.dataset,
        },
        text: () => [...startedText, `  Follow it:    sselfie status --user ${o.userId} --watch`].join("\n"),
      };
    }
    out.note(startedText.join("\n"));
    const final = await followTraining(sselfie, actor, o.userId, out, signal);
    return {
      payload: {
        userId: started.userId,
        trainingId: started.trainingId,
        modelId: started.modelId,
        triggerWord: started.triggerWord,
        status: final.status,
        dataset: started.dataset,
      },
      text: () => describeStatus(final, out),
    };
  },
};
