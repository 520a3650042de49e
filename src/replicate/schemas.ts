/**
 * The shapes we read from Replicate. Extra fields are tolerated (and dropped); the fields sselfie
 * acts on are checked strictly, so a surprise becomes REPLICATE_BAD_RESPONSE instead of a wrong
 * decision later.
 */
import { z } from "zod";

import { STATUSES, VERSION_REF_PATTERN } from "./statuses.js";

export { isTerminalStatus, STATUSES, TERMINAL_STATUSES, VERSION_REF_PATTERN } from "./statuses.js";
export type { PredictionStatus, TerminalStatus, TrainingStatus } from "./statuses.js";

export const StatusSchema = z.enum(STATUSES);

const nullableString = z.string().nullable().optional().transform((v) => v ?? null);
/** Replicate's `error` is usually a string; anything else is kept readable rather than refused. */
const errorField = z
  .unknown()
  .optional()
  .transform((v): string | null => (v == null ? null : typeof v === "string" ? v : JSON.stringify(v)));
const inputField = z.record(z.string(), z.unknown()).nullable().optional().transform((v) => v ?? {});
const metricsField = z.record(z.string(), z.unknown()).nullable().optional().transform((v) => v ?? {});

export const AccountSchema = z.object({
  type: z.string(),
  username: z.string().min(1),
  name: z.string().nullable().optional().transform((v) => v ?? undefined),
});
export type Account = z.infer<typeof AccountSchema>;

export const VisibilitySchema = z.enum(["public", "private"]);
export type Visibility = z.infer<typeof VisibilitySchema>;

export const VersionSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/, "a version id is 64 hex characters"),
  created_at: z.string().nullable().optional().transform((v) => v ?? null),
  cog_version: nullableString,
  openapi_schema: z.record(z.string(), z.unknown()).nullable().optional().transform((v) => v ?? null),
});
export type Version = z.infer<typeof VersionSchema>;

export const ModelSchema = z.object({
  owner: z.string().min(1),
  name: z.string().min(1),
  visibility: VisibilitySchema,
  url: nullableString,
  description: nullableString,
  hardware: nullableString,
  latest_version: z
    .object({ id: z.string() })
    .loose()
    .nullable()
    .optional()
    .transform((v) => (v ? { id: v.id } : null)),
});
export type Model = z.infer<typeof ModelSchema>;

export const InputSchemaSchema = z
  .object({
    type: z.literal("object").optional(),
    properties: z.record(z.string(), z.record(z.string(), z.unknown())),
    required: z.array(z.string()).optional(),
  })
  .loose();
export type VersionInputSchema = z.infer<typeof InputSchemaSchema>;

export const OpenApiInputSchema = z.object({
  components: z.object({ schemas: z.object({ Input: InputSchemaSchema }) }),
});

export const FileObjectSchema = z.object({
  id: z.string().min(1),
  name: nullableString,
  content_type: nullableString,
  size: z.number().int().nonnegative(),
  urls: z.object({ get: z.url() }),
  checksums: z.record(z.string(), z.string()).nullable().optional().transform((v) => v ?? {}),
  created_at: nullableString,
  expires_at: nullableString,
});
export type FileObject = z.infer<typeof FileObjectSchema>;

const TrainingOutputSchema = z.object({
  version: z.string().regex(VERSION_REF_PATTERN, "output.version must be owner/name:<64 hex>"),
  weights: z.string().nullable().optional().transform((v) => v ?? null),
});

export const TrainingSchema = z
  .object({
    id: z.string().min(1),
    status: StatusSchema,
    model: nullableString,
    version: nullableString,
    input: inputField,
    output: TrainingOutputSchema.nullable().optional().transform((v) => v ?? null),
    error: errorField,
    logs: nullableString,
    metrics: metricsField,
    created_at: nullableString,
    started_at: nullableString,
    completed_at: nullableString,
  })
  .superRefine((t, ctx) => {
    if (t.status === "succeeded" && !t.output) {
      ctx.addIssue({ code: "custom", path: ["output"], message: "a succeeded training must name its output version" });
    }
  });
export type Training = z.infer<typeof TrainingSchema>;

export const PredictionSchema = z
  .object({
    id: z.string().min(1),
    status: StatusSchema,
    model: nullableString,
    version: nullableString,
    input: inputField,
    output: z.array(z.url()).nullable().optional().transform((v) => v ?? null),
    error: errorField,
    logs: nullableString,
    metrics: metricsField,
    data_removed: z.boolean().optional().transform((v) => v ?? false),
    created_at: nullableString,
    started_at: nullableString,
    completed_at: nullableString,
  })
  .superRefine((p, ctx) => {
    if (p.status === "succeeded" && !p.output && !p.data_removed) {
      ctx.addIssue({ code: "custom", path: ["output"], message: "a succeeded prediction must list its output URLs" });
    }
  });
export type Prediction = z.infer<typeof PredictionSchema>;

export const PageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    next: z.string().nullable().optional().transform((v) => v ?? null),
    previous: z.string().nullable().optional().transform((v) => v ?? null),
    results: z.array(item),
  });

export const WebhookSecretSchema = z.object({ key: z.string().startsWith("whsec_") });
