/**
 * Checks a model input against the version's own Cog input schema, with a JSON Schema validator
 * (ajv) rather than a second hand-written reading of the rules: declared keys must have the right
 * type, range and enum value, required keys must be present, and keys the schema does not declare
 * are silently dropped (not rejected), as Replicate does.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import formats from "ajv-formats";
import { isPlainObject, problem, type Reply } from "./http-util.js";
import type { JsonSchema, OpenApiSchema } from "./types.js";

// ajv-formats is CommonJS: under NodeNext its default import is module.exports, whose `default` is the plugin.
const addFormats = formats.default;

export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

export type InputCheck = { ok: true; input: Record<string, unknown> } | { ok: false; errors: InvalidField[] };

// Cog schemas carry x-order, titles and OpenAPI's own keywords: not strict.
const ajv = new Ajv({ strict: false, allErrors: true, verbose: true });
addFormats(ajv);
/** Keyed by the input schema object itself, so setVersionSchema's replacement is compiled afresh. */
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function validatorFor(openapi: OpenApiSchema, schemaName: string): { validate: ValidateFunction; schema: JsonSchema } {
  const schema = openapi.components.schemas[schemaName] ?? { type: "object", properties: {} };
  let validate = compiled.get(schema);
  if (!validate) {
    // The version's own document, so that its `allOf: [{$ref: "#/components/schemas/..."}]` enums resolve.
    validate = ajv.compile({ $ref: `#/components/schemas/${schemaName}`, components: { schemas: { ...openapi.components.schemas, [schemaName]: schema } } });
    compiled.set(schema, validate);
  }
  return { validate, schema };
}

export function checkInput(openapi: OpenApiSchema, schemaName: string, input: unknown): InputCheck {
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ type: "invalid_type", field: "input", description: "Invalid type. Expected: object" }] };
  }
  const { validate, schema } = validatorFor(openapi, schemaName);
  if (!validate(input)) return { ok: false, errors: (validate.errors ?? []).map(toInvalidField) };
  const declared = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
  return { ok: true, input: Object.fromEntries(Object.entries(input).filter(([key]) => declared.includes(key))) };
}

/** ajv's error, in the words of Replicate's 422 (body shape unconfirmed, see README). */
function toInvalidField(e: ErrorObject): InvalidField {
  const key = e.instancePath.split("/").slice(1).join(".");
  const field = key ? `input.${key}` : "input";
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { type: "required", field: "input", description: `${String(p.missingProperty)} is required` };
    case "type":
      return { type: "invalid_type", field, description: `Invalid type. Expected: ${String(p.type)}, given: ${typeName(e.data)}` };
    case "enum":
      return { type: "enum", field, description: `${key} must be one of the following: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "minimum":
      return { type: "number_gte", field, description: `Must be greater than or equal to ${String(p.limit)}` };
    case "maximum":
      return { type: "number_lte", field, description: `Must be less than or equal to ${String(p.limit)}` };
    case "format":
      return { type: "format", field, description: `Does not match format '${String(p.format)}'` };
    default:
      return { type: e.keyword, field, description: e.message ?? "is invalid" };
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isInteger(value)) return "integer";
  return typeof value;
}

/** The 422 Replicate answers for invalid input (body shape unconfirmed, see README). */
export function inputProblem(errors: InvalidField[]): Reply {
  const detail = errors.map((e) => `- ${e.field}: ${e.description}\n`).join("");
  return problem(422, detail, { title: "Input validation failed", invalid_fields: errors });
}

/** Merges `allOf: [{$ref}]` (how Cog declares enums) into one flat schema, to read a default. */
function resolve(openapi: OpenApiSchema, schema: JsonSchema): JsonSchema {
  let merged: JsonSchema = { ...schema };
  const refTarget = (r: unknown) =>
    typeof r === "string" && r.startsWith("#/components/schemas/")
      ? openapi.components.schemas[r.slice("#/components/schemas/".length)]
      : undefined;
  if (typeof schema.$ref === "string") merged = { ...refTarget(schema.$ref), ...merged };
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf as JsonSchema[]) merged = { ...resolve(openapi, part), ...merged };
  }
  delete merged.allOf;
  delete merged.$ref;
  return merged;
}

/** The value a key takes when the input omits it. */
export function defaultOf(openapi: OpenApiSchema, schemaName: string, key: string): unknown {
  const props = (openapi.components.schemas[schemaName]?.properties ?? {}) as Record<string, JsonSchema>;
  const prop = props[key];
  return prop ? resolve(openapi, prop).default : undefined;
}
