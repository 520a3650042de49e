/**
 * What replicate.delivery and the stream host serve, without auth: output images (real PNG bytes
 * naming the prediction, seed, index and version in a tEXt chunk), training weights, and a small
 * server-sent-events stream of a prediction's output.
 */
import type { Reply } from "./http-util.js";
import { dimensionsFor, encodePng } from "./png.js";
import { refreshPrediction, renderPrediction } from "./predictions.js";
import type { Ctx } from "./router.js";
import { refreshTraining } from "./trainings.js";

const missing = (): Reply => ({ status: 404, bytes: Buffer.from("Not Found"), contentType: "text/plain; charset=utf-8" });

export function deliveryHandler(ctx: Ctx): Reply {
  const { state } = ctx;
  const [id, file] = ctx.params;
  const training = state.trainings.get(id!);
  if (training) {
    refreshTraining(state, training);
    if (file !== "trained_model.tar" || training.status !== "succeeded") return missing();
    return { status: 200, bytes: Buffer.from(`emulated LoRA weights of training ${training.id}\n`), contentType: "application/x-tar" };
  }
  const p = state.predictions.get(id!);
  if (!p) return missing();
  refreshPrediction(state, p);
  const image = p.images.find((i) => i.url.endsWith(`/${file}`));
  if (!image || p.dataRemoved || p.status !== "succeeded") return missing();
  const bytes = encodePng({
    ...dimensionsFor(p.input.aspect_ratio),
    seedText: `${p.versionRef}|${image.seed}|${image.index}|${String(p.input.prompt)}`,
    text: {
      emulator: JSON.stringify({ prediction: p.id, seed: image.seed, index: image.index, version: p.versionRef }),
      Software: "replicate-emulator",
    },
  });
  // Always PNG: the emulator encodes no JPEG or WebP (see README).
  return { status: 200, bytes, contentType: "image/png" };
}

export function streamHandler(ctx: Ctx): Reply {
  const { state } = ctx;
  const p = state.predictions.get(ctx.params[0]!);
  if (!p) return missing();
  return {
    status: 200,
    stream: async (res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      while (p.completedAt === null && !ctx.signal.aborted) {
        await new Promise((r) => setTimeout(r, 10));
        refreshPrediction(state, p);
      }
      const view = renderPrediction(state, p);
      if (p.status === "succeeded") for (const url of p.output ?? []) res.write(`event: output\ndata: ${url}\n\n`);
      if (p.status === "failed") res.write(`event: error\ndata: ${JSON.stringify({ detail: view.error })}\n\n`);
      res.end(`event: done\ndata: ${p.status === "canceled" ? '{"reason":"canceled"}' : "{}"}\n\n`);
    },
  };
}
