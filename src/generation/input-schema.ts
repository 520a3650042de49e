/**
 * A model version's declared inputs, and the check that the locked input fits them. Replicate
 * ignores undeclared keys without a word and answers 422 to out-of-range values, so both are
 * caught here, before any prediction is created.
 *
 * Cog puts enums in `components.schemas` and points at them with `allOf: [{$ref}]`; the cached
 * schema has those references inlined so that it can be checked without the rest of the document.
 */
import { GUIDANCE_KEYS, buildGenerationInput, lockedInputKeys, type GuidanceKey } from "../locked.js";

export type PropertySchema = Record<string, unknown>;

export interface InputSchema {
  type?: "object";
  properties: Record<string, PropertySchema>;
  required?: string[];
  [key: string]: unknown;
}

const REF_PREFIX = "#/components/schemas/";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `openapi_schema.components.schemas.Input` with local `$ref`s inlined, or null when the document
 * has no usable Input schema.
 */
export function extractInputSchema(openapiSchema: unknown): InputSchema | null {
  if (!isRecord(openapiSchema)) return null;
  const components = isRecord(openapiSchema.components) ? openapiSchema.components : undefined;
  const schemas = components && isRecord(components.schemas) ? components.schemas : undefined;
  const input = schemas?.Input;
  if (!isRecord(input) || !isRecord(input.properties)) return null;
  const resolve = (node: unknown, depth: number): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, depth));
    if (!isRecord(node)) return node;
    if (typeof node.$ref === "string" && depth < 8) {
      const target = node.$ref.startsWith(REF_PREFIX) ? schemas?.[node.$ref.slice(REF_PREFIX.length)] : undefined;
      // An unresolvable reference is kept as it is; the check then refuses the property.
      if (isRecord(target)) {
        const { $ref: _ref, ...rest } = node;
        return resolve({ ...target, ...rest }, depth + 1);
      }
      return node;
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, depth)]));
  };
  const properties = resolve(input.properties, 0) as Record<string, PropertySchema>;
  const required = Array.isArray(input.required) ? input.required.filter((r): r is string => typeof r === "string") : undefined;
  return { type: "object", properties, ...(required ? { required } : {}) };
}

/** The first name in GUIDANCE_KEYS that the schema declares. */
export function guidanceKeyOf(schema: InputSchema): GuidanceKey | null {
  return GUIDANCE_KEYS.find((k) => Object.hasOwn(schema.properties, k)) ?? null;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      return false;
  }
}

/** Why `value` does not fit `prop`, or null when it does. Covers what cog schemas use. */
export function valueProblem(prop: PropertySchema, value: unknown): string | null {
  if (typeof prop.$ref === "string") return `its schema refers to ${prop.$ref}, which the version does not define`;
  for (const part of Array.isArray(prop.allOf) ? prop.allOf : []) {
    const problem = isRecord(part) ? valueProblem(part, value) : null;
    if (problem) return problem;
  }
  const branches = Array.isArray(prop.anyOf) ? prop.anyOf : Array.isArray(prop.oneOf) ? prop.oneOf : null;
  if (branches && !branches.some((b) => isRecord(b) && valueProblem(b, value) === null)) {
    return `${JSON.stringify(value)} matches none of its allowed forms`;
  }
  if (prop.type !== undefined) {
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (!types.some((t) => typeof t === "string" && typeMatches(t, value))) return `it must be of type ${types.join(" or ")}`;
  }
  if (Array.isArray(prop.enum) && !prop.enum.some((e) => e === value)) {
    return `${JSON.stringify(value)} is not one of ${prop.enum.map((e) => JSON.stringify(e)).join(", ")}`;
  }
  if ("const" in prop && prop.const !== value) return `it must be ${JSON.stringify(prop.const)}`;
  if (typeof value === "number") {
    if (typeof prop.minimum === "number" && value < prop.minimum) return `${value} is below its minimum ${prop.minimum}`;
    if (typeof prop.maximum === "number" && value > prop.maximum) return `${value} is above its maximum ${prop.maximum}`;
    if (typeof prop.exclusiveMinimum === "number" && value <= prop.exclusiveMinimum) return `${value} is not above ${prop.exclusiveMinimum}`;
    if (typeof prop.exclusiveMaximum === "number" && value >= prop.exclusiveMaximum) return `${value} is not below ${prop.exclusiveMaximum}`;
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof prop.maxLength === "number" && length > prop.maxLength) return `it is longer than ${prop.maxLength} characters`;
    if (typeof prop.minLength === "number" && length < prop.minLength) return `it is shorter than ${prop.minLength} characters`;
  }
  return null;
}

export type LockedInputCheck =
  | { ok: true; guidanceKey: GuidanceKey; input: Record<string, unknown> }
  | { ok: false; guidanceKey: GuidanceKey | null; problems: string[] };

/**
 * The exact input for one generation, or every reason the version cannot take it. The input has
 * exactly lockedInputKeys(guidanceKey), each declared by the schema and within its bounds.
 */
export function checkLockedInput(schema: InputSchema, prompt: string, seed: number): LockedInputCheck {
  const guidanceKey = guidanceKeyOf(schema);
  if (!guidanceKey) {
    return {
      ok: false,
      guidanceKey: null,
      problems: [`the version declares no guidance input (${GUIDANCE_KEYS.join(" or ")}), so guidance 2.8 could not take effect`],
    };
  }
  const input = buildGenerationInput(prompt, seed, guidanceKey);
  const problems: string[] = [];
  const keys = Object.keys(input);
  const expected = lockedInputKeys(guidanceKey);
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    problems.push(`the input keys ${keys.join(",")} are not the locked keys ${expected.join(",")}`);
  }
  for (const key of keys) {
    const prop = schema.properties[key];
    if (!prop) {
      problems.push(`"${key}" is not declared by the version, so it would be silently ignored`);
      continue;
    }
    const problem = valueProblem(prop, input[key]);
    if (problem) problems.push(`"${key}" = ${JSON.stringify(input[key])} does not fit the version's schema: ${problem}`);
  }
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(input, key)) problems.push(`the version requires "${key}", which the locked input does not send`);
  }
  return problems.length ? { ok: false, guidanceKey, problems } : { ok: true, guidanceKey, input };
}
