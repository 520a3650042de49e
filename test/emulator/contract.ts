/**
 * Validates emulator responses against Replicate's published OpenAPI spec (a copy of
 * https://api.replicate.com/openapi.json, 3.1.0, in test/support/emulator/replicate-openapi.json).
 * OpenAPI 3.1 schemas are JSON Schema 2020-12; Ajv understands the spec's `nullable`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formats from "ajv-formats";

// ajv-formats is CommonJS: under NodeNext its default import is module.exports, whose `default` is the plugin.
const addFormats = formats.default;

const SPEC_PATH = fileURLToPath(new URL("../support/emulator/replicate-openapi.json", import.meta.url));
export const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8"));

/**
 * The spec's only departures we correct, each shown by a real recording: Replicate sends `null`
 * for fields the spec types as plain strings/objects. trainings-get.yaml: completed_at, logs and
 * output null while processing; trainings-cancel.yaml: logs and output null. started_at is null
 * while starting (same serializer, not recorded). Predictions share the serializer.
 */
export const NULLABLE_IN_PRACTICE: Record<string, string[]> = {
  schemas_training_response: ["completed_at", "started_at", "logs", "output"],
  schemas_prediction_response: ["completed_at", "started_at"],
};

function patchedSpec(): typeof spec {
  const copy = structuredClone(spec);
  for (const [schema, fields] of Object.entries(NULLABLE_IN_PRACTICE)) {
    for (const field of fields) copy.components.schemas[schema].properties[field].nullable = true;
  }
  return copy;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, "openapi.json");
ajv.addSchema(patchedSpec(), "openapi-nullable.json");

const pointer = (path: string, method: string, status: string, type = "application/json") =>
  `#/paths/${path.replace(/~/g, "~0").replace(/\//g, "~1")}/${method}/responses/${status}/content/${type.replace(/\//g, "~1")}/schema`;

/** Where each response kind's schema lives in the spec. */
export const SCHEMAS = {
  account: pointer("/account", "get", "200"),
  model: "#/components/schemas/schemas_model_response",
  version: "#/components/schemas/schemas_version_response",
  versionList: "#/components/schemas/schemas_paginated_version_response",
  training: "#/components/schemas/schemas_training_response",
  trainingList: pointer("/trainings", "get", "200"),
  file: "#/components/schemas/schemas_file_response",
  fileList: pointer("/files", "get", "200"),
  fileNotFound: pointer("/files/{file_id}", "get", "404", "application/problem+json"),
  fileTooLarge: pointer("/files", "post", "413", "application/problem+json"),
  prediction: "#/components/schemas/schemas_prediction_response",
  predictionList: "#/components/schemas/schemas_paginated_prediction_response",
  webhookSecret: pointer("/webhooks/default/secret", "get", "200"),
} as const;

const cache = new Map<string, ValidateFunction>();

/** Validates against the spec as published, or with NULLABLE_IN_PRACTICE applied (`nullable: true`). */
export function validator(kind: keyof typeof SCHEMAS, opts: { nullable?: boolean } = {}): ValidateFunction {
  const ref = `${opts.nullable ? "openapi-nullable.json" : "openapi.json"}${SCHEMAS[kind]}`;
  const cached = cache.get(ref);
  if (cached) return cached;
  const fn = ajv.compile({ $ref: ref });
  cache.set(ref, fn);
  return fn;
}

/**
 * The spec gives no schema for the general error body; this is REPLICATE.md's: application/problem+json
 * with `detail` and `status`, sometimes `title`.
 */
export const validateProblem = ajv.compile({
  type: "object",
  required: ["detail", "status"],
  properties: { detail: { type: "string", minLength: 1 }, status: { type: "integer" }, title: { type: "string" } },
});

export function errorsOf(fn: ValidateFunction): string {
  return ajv.errorsText(fn.errors, { separator: "\n" });
}
