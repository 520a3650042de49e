import { InvalidInputError, type PrepareResult } from "../../index.js";
import type { CliCommand } from "../command.js";
import { count } from "../plural.js";
import { bar, type Output } from "../output.js";

export interface PrepareCliOptions {
  images: string;
  outDir: string;
}

export const DEFAULT_PREPARED_DIR = "./sselfie-prepared";

function describe(r: PrepareResult, out: Output): string {
  const lines: string[] = [];
  for (const image of r.images) {
    if (image.problems.length === 0) {
      const changes = [
        image.sourceWidth !== image.width || image.sourceHeight !== image.height
          ? `${image.sourceWidth}x${image.sourceHeight} -> ${image.width}x${image.height}`
          : `${image.width}x${image.height}`,
        ...(image.rotated ? ["turned upright"] : []),
        ...(image.metadataRemoved.length ? [`removed ${image.metadataRemoved.join(", ")}`] : []),
        ...(image.converted ? [] : ["kept as is"]),
      ];
      lines.push(`${out.green("✓")} ${image.name}  ${out.dim(`<- ${image.source} (${changes.join("; ")})`)}`);
    } else {
      for (const p of image.problems) lines.push(`${out.red("✗")} ${image.source}: ${p.message} ${out.dim(`[${p.code}]`)}`);
    }
  }
  for (const p of r.problems) lines.push(`${out.red("✗")} ${p.message} ${out.dim(`[${p.code}]`)}`);
  lines.push("");
  lines.push(
    r.ok
      ? `${out.green("✓")} ${count(r.count, "photo")} ready to train (zip of ${(r.summary.zipBytes / 1_000_000).toFixed(1)} MB).`
      : `${out.red("✗")} The set cannot be trained as it is: fix the problems above and run again.`,
  );
  lines.push(`  Written to ${r.outDir}: the prepared photos, manifest.json and contact-sheet.png`);
  return lines.join("\n");
}

export const prepareCommand: CliCommand<PrepareCliOptions> = {
  scope: null,
  database: false,
  abortable: true,
  action: "prepare",
  parse(o) {
    if (typeof o.images !== "string" || o.images.trim() === "") {
      throw new InvalidInputError("--images needs a folder of photos or a .zip of them.", {}, "INVALID_IMAGES");
    }
    const outDir = typeof o.out === "string" && o.out.trim() !== "" ? o.out : DEFAULT_PREPARED_DIR;
    return { images: o.images, outDir };
  },
  async run({ sselfie, out, signal }, o) {
    const progress = await out.progress("Preparing photos…");
    let result: PrepareResult;
    try {
      result = await sselfie.datasets.prepare(
        { images: o.images, outDir: o.outDir },
        {
          signal,
          onProgress: (p) => {
            if (out.interactive) progress.update(`Preparing photos ${bar(p.done, p.total)}`);
          },
        },
      );
    } finally {
      progress.stop();
    }
    const { ok, count, images, problems } = result;
    return { payload: { ok, count, images, problems }, text: () => describe(result, out), exitCode: ok ? 0 : 2 };
  },
};
