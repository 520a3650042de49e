/**
 * Version schemas in Cog's shape (enums as `allOf: [{$ref}]` into components.schemas): the
 * trainer's inputs, a trained destination model's inputs (cog-flux LoRA predictor, no `guidance`),
 * and a base model that names its guidance input `guidance`.
 */
import { TRAINER_NAME, TRAINER_OWNER, TRAINER_VERSION } from "../../../src/locked.js";
import type { JsonSchema, OpenApiSchema } from "./types.js";

/** The trainer sselfie locks (src/locked.ts) is the one the emulator hosts. */
export const TRAINER_MODEL = `${TRAINER_OWNER}/${TRAINER_NAME}`;
export { TRAINER_VERSION };
export const BASE_MODEL = "black-forest-labs/flux-dev-lora";
export const BASE_MODEL_VERSION = "ae0d7d645446924cf1871e3ca8796e8318f72465d2b5af9323a835df93bf0917";

export const ASPECT_RATIOS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"];

function enumSchema(title: string, values: string[]): JsonSchema {
  return { enum: values, type: "string", title, description: "An enumeration." };
}

function ref(name: string, extra: JsonSchema): JsonSchema {
  return { allOf: [{ $ref: `#/components/schemas/${name}` }], ...extra };
}

function ordered(props: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(props).map(([k, v], i) => [k, { title: titleOf(k), ...v, "x-order": i }]));
}

function titleOf(key: string): string {
  return key
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

function wrap(schemas: Record<string, JsonSchema> & { Input: JsonSchema }): OpenApiSchema {
  return {
    openapi: "3.0.2",
    info: { title: "Cog", version: "0.1.0" },
    paths: {},
    components: {
      schemas: {
        Output: { type: "array", items: { type: "string", format: "uri" }, title: "Output" },
        Status: enumSchema("Status", ["starting", "processing", "succeeded", "canceled", "failed"]),
        WebhookEvent: enumSchema("WebhookEvent", ["start", "output", "logs", "completed"]),
        ...schemas,
      },
    },
  };
}

const imageEnums = {
  aspect_ratio: enumSchema("aspect_ratio", ASPECT_RATIOS),
  output_format: enumSchema("output_format", ["webp", "jpg", "png"]),
  megapixels: enumSchema("megapixels", ["1", "0.25"]),
};

/** The input schema of a version created by a succeeded training (REPLICATE.md). */
export function trainedModelInputSchema(): JsonSchema {
  return {
    type: "object",
    title: "Input",
    required: ["prompt"],
    properties: ordered({
      prompt: { type: "string", description: "Prompt for generated image. Include the trigger word." },
      aspect_ratio: ref("aspect_ratio", { default: "1:1", description: "Aspect ratio for the generated image." }),
      num_outputs: { type: "integer", default: 1, minimum: 1, maximum: 4, description: "Number of outputs to generate" },
      num_inference_steps: { type: "integer", default: 28, minimum: 1, maximum: 50, description: "Number of denoising steps." },
      guidance_scale: { type: "number", default: 3, minimum: 0, maximum: 10, description: "Guidance scale for the diffusion process." },
      seed: { type: "integer", description: "Random seed. Set for reproducible generation" },
      output_format: ref("output_format", { default: "webp", description: "Format of the output images" }),
      output_quality: { type: "integer", default: 80, minimum: 0, maximum: 100, description: "Quality when saving the output images, from 0 to 100. Not relevant for .png outputs" },
      go_fast: { type: "boolean", default: false, description: "Run faster predictions with model optimized for speed" },
      disable_safety_checker: { type: "boolean", default: false, description: "Disable safety checker for generated images." },
      lora_scale: { type: "number", default: 1, minimum: -1, maximum: 3, description: "Determines how strongly the main LoRA should be applied." },
      megapixels: ref("megapixels", { default: "1", description: "Approximate number of megapixels for generated image" }),
      model: ref("model", { default: "dev", description: "Which model to run inference with." }),
    }),
  };
}

export function trainedModelOpenApi(inputSchema: JsonSchema = trainedModelInputSchema()): OpenApiSchema {
  return wrap({ ...imageEnums, model: enumSchema("model", ["dev", "schnell"]), Input: inputSchema });
}

export function trainerInputSchema(): JsonSchema {
  return {
    type: "object",
    title: "TrainingInput",
    required: ["input_images"],
    properties: ordered({
      input_images: { type: "string", format: "uri", description: "A zip file containing the images that will be used for training. We recommend a minimum of 10 images." },
      trigger_word: { type: "string", default: "TOK", description: "The trigger word refers to the object, style or concept you are training on." },
      autocaption: { type: "boolean", default: true, description: "Automatically caption images using Llava v1.5 13B" },
      autocaption_prefix: { type: "string", description: "Optional: Text you want to appear at the beginning of all your generated captions" },
      autocaption_suffix: { type: "string", description: "Optional: Text you want to appear at the end of all your generated captions" },
      steps: { type: "integer", default: 1000, minimum: 3, maximum: 6000, description: "Number of training steps. Recommended range 500-4000" },
      lora_rank: { type: "integer", default: 16, minimum: 1, maximum: 128, description: "Higher ranks take longer to train but can capture more complex features." },
      optimizer: { type: "string", default: "adamw8bit", description: "Optimizer to use for training." },
      batch_size: { type: "integer", default: 1, minimum: 1, description: "Batch size, you can leave this as 1" },
      resolution: { type: "string", default: "512,768,1024", description: "Image resolutions for training" },
      learning_rate: { type: "number", default: 0.0004, description: "Learning rate, if you're new to training you probably don't need to change this." },
      caption_dropout_rate: { type: "number", default: 0.05, minimum: 0, maximum: 1, description: "Advanced setting. Determines how often a caption is ignored." },
    }),
  };
}

export function trainerOpenApi(): OpenApiSchema {
  return wrap({
    Input: { type: "object", title: "Input", properties: {} },
    TrainingInput: trainerInputSchema(),
    TrainingOutput: {
      type: "object",
      title: "TrainingOutput",
      required: ["weights"],
      properties: { weights: { type: "string", format: "uri", title: "Weights" } },
    },
  });
}

/** A base FLUX model: its guidance input is `guidance`, not `guidance_scale`. */
export function baseModelOpenApi(): OpenApiSchema {
  return wrap({
    ...imageEnums,
    Input: {
      type: "object",
      title: "Input",
      required: ["prompt", "lora_weights"],
      properties: ordered({
        prompt: { type: "string", description: "Prompt for generated image" },
        aspect_ratio: ref("aspect_ratio", { default: "1:1" }),
        num_outputs: { type: "integer", default: 1, minimum: 1, maximum: 4 },
        num_inference_steps: { type: "integer", default: 28, minimum: 1, maximum: 50 },
        guidance: { type: "number", default: 3, minimum: 0, maximum: 10 },
        seed: { type: "integer" },
        output_format: ref("output_format", { default: "webp" }),
        output_quality: { type: "integer", default: 80, minimum: 0, maximum: 100 },
        go_fast: { type: "boolean", default: true },
        disable_safety_checker: { type: "boolean", default: false },
        lora_weights: { type: "string", description: "Load LoRA weights (a Replicate model, a HuggingFace path or a .safetensors URL)" },
        lora_scale: { type: "number", default: 1, minimum: -1, maximum: 3 },
        megapixels: ref("megapixels", { default: "1" }),
      }),
    },
  });
}
