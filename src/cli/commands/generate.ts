import { join, resolve } from "node:path";
import { InvalidInputError } from "../../errors.js";
import { validateSeed, validateUserId } from "../../locked.js";
import { generate, type GenerationProgress } from "../../generation/generate.js";
import { preparePrompt } from "../../generation/prompt.js";
import type { CliCommand } from "../command.js";

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
      return `Downloading ${p.count} image${p.count === 1 ? "" : "s"}…`;
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
  async run({ sselfie, principal, out }, o) {
    const progress = await out.progress(`Generating for user ${o.userId}…`);
    let result;
    try {
      result = await generate(sselfie.context, principal?.name ?? null, {
        userId: o.userId,
        prompt: o.prompt,
        ...(o.seed === undefined ? {} : { seed: o.seed }),
        outDir: o.outDir,
        onProgress: (p) => progress.update(describe(p)),
      });
    } finally {
      progress.stop();
    }
    const incomplete = result.failedDownloads.length > 0;
    const error = incomplete
      ? {
          code: "DOWNLOAD_INCOMPLETE",
          message:
            `${result.failedDownloads.length} of ${result.files.length + result.failedDownloads.length} images could not be downloaded ` +
            `(${result.failedDownloads.map((f) => `#${f.index}: ${f.error}`).join("; ")}); generation #${result.generationId} keeps their URLs.`,
        }
      : undefined;
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
