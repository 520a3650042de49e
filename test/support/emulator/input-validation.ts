/**
 * Checks a model input against a version's Cog input schema the way Replicate does: declared keys
 * must have the right type, range and enum value, required keys must be present, and keys the
 * schema does not declare are silently dropped (not rejected).
 */
import { isPlainObject, problem, type Reply } from "./http-util.js";
import type { JsonSchema, OpenApiSchema } from "./types.js";

export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

export type InputCheck = { ok: true; input: Record<string, unknown> } | { ok: false; errors: InvalidField[] };

export function checkInput(openapi: OpenApiSchema, schemaName: string, input: unknown): InputCheck {
  const schema = openapi.components.schemas[schemaName] ?? { type: "object", properties: {} };
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ type: "invalid_type", field: "input", description: "Invalid type. Expected: object" }] };
  }
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const errors: InvalidField[] = [];
  const kept: Record<string, unknown> = {};
  for (const name of required) {
    if (!(name in input) || input[name] === undefined) {
      errors.push({ type: "required", field: "input", description: `${name} is required` });
    }
  }
  for (const [key, value] of Object.entries(input)) {
    const declared = properties[key];
    if (!declared || value === undefined) continue;
    const error = checkValue(resolve(openapi, declared), value, `input.${key}`);
    if (error) errors.push(error);
    else kept[key] = value;
  }
  return errors.length ? { ok: false, errors } : { ok: true, input: kept };
}

/** The 422 Replicate answers for invalid input (body shape unconfirmed, see README). */
export function inputProblem(errors: InvalidField[]): Reply {
  const detail = errors.map((e) => `- ${e.field}: ${e.description}\n`).join("");
  return problem(422, detail, { title: "Input validation failed", invalid_fields: errors });
}

/** Merges `allOf: [{$ref}]` (how Cog declares enums) into one flat schema. */
export function resolve(openapi: OpenApiSchema, schema: JsonSchema): JsonSchema {
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

function checkValue(schema: JsonSchema, value: unknown, field: string): InvalidField | undefined {
  const type = schema.type as string | undefined;
  const typeOk =
    type === undefined ||
    (type === "string" && typeof value === "string") ||
    (type === "integer" && typeof value === "number" && Number.isInteger(value)) ||
    (type === "number" && typeof value === "number" && Number.isFinite(value)) ||
    (type === "boolean" && typeof value === "boolean") ||
    (type === "array" && Array.isArray(value)) ||
    (type === "object" && isPlainObject(value));
  if (!typeOk) {
    const given = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
    return { type: "invalid_type", field, description: `Invalid type. Expected: ${type}, given: ${given}` };
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    const list = schema.enum.map((v) => JSON.stringify(v)).join(", ");
    return { type: "enum", field, description: `${field.slice("input.".length)} must be one of the following: ${list}` };
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      return { type: "number_gte", field, description: `Must be greater than or equal to ${schema.minimum}` };
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      return { type: "number_lte", field, description: `Must be less than or equal to ${schema.maximum}` };
    }
  }
  if (schema.format === "uri" && typeof value === "string" && !isUri(value)) {
    return { type: "format", field, description: "Does not match format 'uri'" };
  }
  return undefined;
}

function isUri(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** The value a key takes when the input omits it. */
export function defaultOf(openapi: OpenApiSchema, schemaName: string, key: string): unknown {
  const props = (openapi.components.schemas[schemaName]?.properties ?? {}) as Record<string, JsonSchema>;
  const prop = props[key];
  return prop ? resolve(openapi, prop).default : undefined;
}
