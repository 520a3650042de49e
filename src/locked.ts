/**
 * The locked architecture of CONTRACT.md, in one module. Nothing here can be changed by a caller:
 * the trainer, the destination model name, the trigger word and the generation input.
 */
import { createHash, randomInt } from "node:crypto";
import { InvalidInputError } from "./errors.js";
import { quoteValue, shortValue } from "./quote-value.js";

export const TRAINER_OWNER = "ostris";
export const TRAINER_NAME = "flux-dev-lora-trainer";
export const TRAINER_VERSION = "26dce37af90b9d997eeb970d92e47de3064d46c300504ae376c75bef6a9022d2";
export const TRAINER_REF = `${TRAINER_OWNER}/${TRAINER_NAME}:${TRAINER_VERSION}`;

export const MODEL_SUFFIX = "-selfie-lora";
/** Keeps `{userId}-selfie-lora` a short, valid Replicate model (Docker repository) name. */
export const USER_ID_MAX_LENGTH = 50;
/** Lowercase letters and digits, single `.`, `_` or `-` between them. */
export const USER_ID_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const VERSION_ID_PATTERN = /^[0-9a-f]{64}$/;

export function validateUserId(userId: unknown): string {
  if (typeof userId !== "string" || userId.length === 0) {
    throw new InvalidInputError("A user id is required (for example --user 42).");
  }
  if (userId.length > USER_ID_MAX_LENGTH || !USER_ID_PATTERN.test(userId)) {
    throw new InvalidInputError(
      `Invalid user id ${quoteValue(userId)}: use 1-${USER_ID_MAX_LENGTH} lowercase letters and digits, ` +
        `optionally separated by single ".", "_" or "-" (it becomes the Replicate model name "<id>${MODEL_SUFFIX}").`,
      { userId: shortValue(userId) },
    );
  }
  return userId;
}

export function destinationModelName(userId: string): string {
  return `${validateUserId(userId)}${MODEL_SUFFIX}`;
}

export function destinationModelId(owner: string, userId: string): string {
  return `${owner}/${destinationModelName(userId)}`;
}

/** The owner part of a model id `owner/name` (the account the model lives under). */
export function modelOwner(modelId: string): string {
  return modelId.split("/", 1)[0]!;
}

export function triggerWord(userId: string): string {
  return `user${validateUserId(userId)}`;
}

/** The generation input every prediction sends, apart from prompt, seed and the guidance key. */
export const GUIDANCE = 2.8;
export const LOCKED_GENERATION_INPUT = Object.freeze({
  num_inference_steps: 35,
  num_outputs: 3,
  aspect_ratio: "3:4",
  output_format: "png",
  output_quality: 95,
  go_fast: false,
  disable_safety_checker: false,
} as const);

/** Names a version's schema may give the guidance input, in order of preference. */
export const GUIDANCE_KEYS = ["guidance_scale", "guidance"] as const;
export type GuidanceKey = (typeof GUIDANCE_KEYS)[number];

export const SEED_MIN = 0;
export const SEED_MAX = 999_999;

export function randomSeed(): number {
  return randomInt(SEED_MIN, SEED_MAX + 1);
}

export function validateSeed(seed: unknown): number {
  const n = typeof seed === "string" && /^\d+$/.test(seed.trim()) ? Number(seed.trim()) : seed;
  if (typeof n !== "number" || !Number.isInteger(n) || n < SEED_MIN || n > SEED_MAX) {
    throw new InvalidInputError(`Invalid seed ${quoteValue(seed)}: use a whole number from ${SEED_MIN} to ${SEED_MAX}.`, {
      seed: shortValue(seed),
    });
  }
  return n;
}

/** The exact input sent for one generation. Keys are sorted so the hash is stable. */
export function buildGenerationInput(prompt: string, seed: number, guidanceKey: GuidanceKey): Record<string, unknown> {
  const input: Record<string, unknown> = { ...LOCKED_GENERATION_INPUT, [guidanceKey]: GUIDANCE, prompt, seed };
  return Object.fromEntries(Object.entries(input).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every key a locked generation sends; each must be declared by the version's input schema. */
export function lockedInputKeys(guidanceKey: GuidanceKey): string[] {
  return ["prompt", "seed", guidanceKey, ...Object.keys(LOCKED_GENERATION_INPUT)].sort();
}

/** sha256 of the canonical JSON of an input object (keys sorted), stored with every generation. */
export function hashInput(input: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(input)).digest("hex");
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** `owner/name:version`, the only generation reference sselfie ever builds. */
export function modelVersionRef(modelId: string, versionId: string): string {
  return `${modelId}:${versionId}`;
}
