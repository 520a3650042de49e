import { join, resolve } from "node:path";
import {
  DownloadIncompleteError,
  InvalidInputError,
  preparePrompt,
  validateSeed,
  validateUserId,
  type GenerationProgress,
  type GenerationResult,
} from "../../index.js";
import type { CliCommand } from "../command.js";
import { count } from "../plural.js";

export interface GenerateCliOptions {
  userId: string;
  prompt: string;
  seed: number | undefined;
  outDir: string;
}

function describe(p: GenerationProgress): string {
  switch (p.phase) {
    case "creating":
      return `Creating the prediction on ${p.version} (seed ${p.seed})…`;
    case "waiting":
      return `Prediction ${p.predictionId} is ${p.status}…`;
    case "downloading":
      return `Downloading ${count(p.count, "image")}…`;
  }
}

export const generateCommand: CliCommand<GenerateCliOptions> = {
  scope: "generate",
  action: "generate",
  parse(o) {
    const userId = validateUserId(o.user);
    // The same rules generate() applies, here so that a bad prompt or seed is exit 2 before any I/O.
    preparePrompt(userId, o.prompt);
    const seed = o.seed === undefined ? undefined : validateSeed(o.seed);
    if (o.out !== undefined && (typeof o.out !== "string" || o.out.trim() === "")) {
      throw new InvalidInputError("--out needs a folder path.", { out: o.out });
    }
    const outDir = resolve(typeof o.out === "string" ? o.out : join("sselfie-output", userId));
    return { userId, prompt: o.prompt as string, seed, outDir };
  },
  userId: (o) => o.userId,
  abortable: true,
  async run({ sselfie, principal, out, signal }, o) {
    const actor = principal?.name ?? null;
    // A paid generation that a killed run left behind is finished first, never forgotten.
    const finished = await sselfie.generations.finish({ userId: o.userId }, { actor, signal });
    for (const f of finished) out.note(f.message);
    const progress = await out.progress(`Generating for user ${o.userId}…`);
    let result: GenerationResult;
    // Some images not saved: the result still lists the saved ones, with the error beside it (exit 1).
    let error: { code: string; message: string } | undefined;
    try {
      result = await sselfie.generations.create(
        { userId: o.userId, prompt: o.prompt, ...(o.seed === undefined ? {} : { seed: o.seed }), outDir: o.outDir },
        { actor, signal, onProgress: (p) => progress.update(describe(p)) },
      );
    } catch (err) {
      if (!(err instanceof DownloadIncompleteError)) throw err;
      result = err.result;
      error = { code: err.code, message: err.message };
    } finally {
      progress.stop();
    }
    const incomplete = error !== undefined;
    const payload = {
      userId: result.userId,
      predictionId: result.predictionId,
      version: result.version,
      seed: result.seed,
      prompt: result.prompt,
      files: result.files,
      generationId: result.generationId,
      triggerWordAdded: result.triggerWordAdded,
      withheld: result.withheld,
      ...(finished.length ? { finishedEarlier: finished } : {}),
      ...(incomplete ? { failedDownloads: result.failedDownloads, error } : {}),
    };
    return {
      payload,
      exitCode: incomplete ? 1 : 0,
      text: () => {
        const n = result.files.length;
        const lines = [
          `${incomplete ? out.yellow("!") : out.green("✓")} Saved ${n} image${n === 1 ? "" : "s"} for user ${result.userId} ` +
            out.dim(`(prediction ${result.predictionId}, seed ${result.seed}, generation #${result.generationId})`),
          ...result.files.map((f) => `  ${f}`),
        ];
        if (result.triggerWordAdded) lines.push(out.dim(`The trigger word was added: "${result.prompt}"`));
        if (result.withheld > 0) {
          lines.push(out.yellow(`The safety checker withheld ${result.withheld} of 3 images.`));
        }
        if (error) lines.push(out.red(error.message));
        return lines.join("\n");
      },
    };
  },
};
