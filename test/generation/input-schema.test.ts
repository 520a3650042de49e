import { describe, expect, it } from "vitest";
import { checkLockedInput, extractInputSchema, guidanceKeyOf, valueProblem, type InputSchema } from "../../src/generation/input-schema.js";
import { LOCKED_GENERATION_INPUT, lockedInputKeys } from "../../src/locked.js";
import { trainedModelInputSchema } from "../support/emulator/index.js";

const enums = {
  aspect_ratio: { enum: ["1:1", "16:9", "3:4", "4:3"], type: "string", title: "aspect_ratio" },
  output_format: { enum: ["webp", "jpg", "png"], type: "string", title: "output_format" },
  megapixels: { enum: ["1", "0.25"], type: "string", title: "megapixels" },
  model: { enum: ["dev", "schnell"], type: "string", title: "model" },
};

function openapi(input: object, extra: Record<string, object> = enums) {
  return { openapi: "3.0.2", components: { schemas: { ...extra, Input: input } } };
}

function trained(): InputSchema {
  return extractInputSchema(openapi(trainedModelInputSchema()))!;
}

function without(schema: InputSchema, key: string): InputSchema {
  const { [key]: _gone, ...properties } = schema.properties;
  return { ...schema, properties };
}

function withProp(schema: InputSchema, key: string, prop: Record<string, unknown>): InputSchema {
  return { ...schema, properties: { ...schema.properties, [key]: prop } };
}

describe("extractInputSchema", () => {
  it("inlines cog's allOf $ref enums", () => {
    const schema = trained();
    expect(JSON.stringify(schema)).not.toContain("$ref");
    expect(schema.properties.aspect_ratio).toMatchObject({ allOf: [{ enum: enums.aspect_ratio.enum, type: "string" }] });
    expect(schema.required).toEqual(["prompt"]);
  });

  it("returns null without an Input schema", () => {
    expect(extractInputSchema(null)).toBeNull();
    expect(extractInputSchema({ components: { schemas: {} } })).toBeNull();
    expect(extractInputSchema({ components: { schemas: { Input: { type: "object" } } } })).toBeNull();
  });
});

describe("checkLockedInput", () => {
  it("builds exactly the locked input with guidance_scale 2.8 for a trained model", () => {
    const check = checkLockedInput(trained(), "user42, portrait", 1234);
    expect(check).toEqual({
      ok: true,
      guidanceKey: "guidance_scale",
      input: {
        aspect_ratio: "3:4",
        disable_safety_checker: false,
        go_fast: false,
        guidance_scale: 2.8,
        num_inference_steps: 35,
        num_outputs: 3,
        output_format: "png",
        output_quality: 95,
        prompt: "user42, portrait",
        seed: 1234,
      },
    });
    if (check.ok) expect(Object.keys(check.input)).toEqual(lockedInputKeys("guidance_scale"));
  });

  it("prefers guidance_scale and uses guidance only where that is what the version declares", () => {
    const both = withProp(trained(), "guidance", { type: "number", minimum: 0, maximum: 10 });
    expect(guidanceKeyOf(both)).toBe("guidance_scale");
    const onlyGuidance = withProp(without(trained(), "guidance_scale"), "guidance", { type: "number", minimum: 0, maximum: 10 });
    const check = checkLockedInput(onlyGuidance, "p", 1);
    expect(check.ok && check.input).toMatchObject({ guidance: 2.8 });
    expect(check.ok && "guidance_scale" in check.input).toBe(false);
  });

  it("refuses a version with no guidance input at all", () => {
    const check = checkLockedInput(without(trained(), "guidance_scale"), "p", 1);
    expect(check).toMatchObject({ ok: false, guidanceKey: null });
  });

  it.each(Object.keys(LOCKED_GENERATION_INPUT).concat(["seed", "prompt"]))("refuses when %s is undeclared", (key) => {
    const check = checkLockedInput(without(trained(), key), "p", 1);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problems.join()).toContain(`"${key}" is not declared`);
  });

  it("refuses values outside the declared ranges and enums instead of meeting a 422", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["num_inference_steps", { type: "integer", minimum: 1, maximum: 30 }, /above its maximum 30/],
      ["guidance_scale", { type: "number", minimum: 3, maximum: 10 }, /below its minimum 3/],
      ["num_outputs", { type: "integer", maximum: 2 }, /above its maximum 2/],
      ["output_format", { allOf: [{ enum: ["webp", "jpg"], type: "string" }] }, /not one of/],
      ["aspect_ratio", { enum: ["1:1"] }, /not one of/],
      ["go_fast", { type: "string" }, /type string/],
      ["seed", { type: "integer", maximum: 100 }, /above its maximum 100/],
      ["output_quality", { type: "integer", exclusiveMaximum: 95 }, /not below 95/],
      ["prompt", { type: "string", maxLength: 3 }, /longer than 3/],
      ["aspect_ratio", { allOf: [{ $ref: "#/components/schemas/missing" }] }, /does not define/],
    ];
    for (const [key, prop, message] of cases) {
      const check = checkLockedInput(withProp(trained(), key, prop), "user42", 1234);
      expect(check.ok, key).toBe(false);
      if (!check.ok) expect(check.problems.join("; ")).toMatch(message);
    }
  });

  it("refuses a version that requires an input the locked input does not send", () => {
    const schema = { ...trained(), required: ["prompt", "lora_weights"] };
    const check = checkLockedInput(schema, "p", 1);
    expect(!check.ok && check.problems.join()).toContain('requires "lora_weights"');
  });

  it("accepts pydantic-style optional inputs (anyOf with null)", () => {
    const schema = withProp(trained(), "seed", { anyOf: [{ type: "integer" }, { type: "null" }] });
    expect(checkLockedInput(schema, "p", 5).ok).toBe(true);
    expect(valueProblem({ anyOf: [{ type: "integer", maximum: 3 }, { type: "null" }] }, 5)).toMatch(/none of its allowed forms/);
  });
});
