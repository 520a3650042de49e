import { describe, expect, it } from "vitest";
import {
  buildGenerationInput,
  destinationModelId,
  hashInput,
  LOCKED_GENERATION_INPUT,
  lockedInputKeys,
  randomSeed,
  triggerWord,
  validateSeed,
  validateUserId,
} from "../../src/locked.js";

describe("the locked architecture", () => {
  it("names the destination model and trigger word from the user id", () => {
    expect(destinationModelId("acme", "42")).toBe("acme/42-selfie-lora");
    expect(triggerWord("42")).toBe("user42");
    expect(triggerWord("jane.doe-7")).toBe("userjane.doe-7");
  });

  it.each(["", "A1", "-42", "42-", "a..b", "a b", "42/x", "ü", "x".repeat(51), "a__b"])("rejects user id %j", (id) => {
    expect(() => validateUserId(id)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });

  it.each(["42", "a", "jane.doe", "x".repeat(50), "a_b-c.d"])("accepts user id %j", (id) => {
    expect(validateUserId(id)).toBe(id);
  });

  it("builds the exact generation input, sorted, with guidance under the declared name", () => {
    const input = buildGenerationInput("user42 smiling", 7, "guidance_scale");
    expect(input).toEqual({
      aspect_ratio: "3:4",
      disable_safety_checker: false,
      go_fast: false,
      guidance_scale: 2.8,
      num_inference_steps: 35,
      num_outputs: 3,
      output_format: "png",
      output_quality: 95,
      prompt: "user42 smiling",
      seed: 7,
    });
    expect(Object.keys(input)).toEqual(lockedInputKeys("guidance_scale"));
    expect(Object.isFrozen(LOCKED_GENERATION_INPUT)).toBe(true);
    expect(hashInput(input)).not.toBe(hashInput({ ...input, seed: 8 }));
  });

  it("hashes an input the same whatever the order of its keys, nested ones included", () => {
    const input = buildGenerationInput("user42 smiling", 7, "guidance_scale");
    const reversed = Object.fromEntries(Object.entries(input).reverse());
    expect(Object.keys(reversed)).not.toEqual(Object.keys(input));
    expect(hashInput(reversed)).toBe(hashInput(input));
    const nested = { a: 1, b: { x: 1, y: [{ p: 1, q: 2 }] } };
    const nestedReversed = { b: { y: [{ q: 2, p: 1 }], x: 1 }, a: 1 };
    expect(hashInput(nestedReversed)).toBe(hashInput(nested));
    // Order inside arrays is content, not layout.
    expect(hashInput({ a: [1, 2] })).not.toBe(hashInput({ a: [2, 1] }));
  });

  it("seeds: random within range, explicit ones validated", () => {
    for (let i = 0; i < 1000; i++) {
      const s = randomSeed();
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(999_999);
    }
    expect(validateSeed("123")).toBe(123);
    expect(validateSeed(0)).toBe(0);
    for (const bad of ["-1", "1000000", "1.5", "abc", "", 1e6]) expect(() => validateSeed(bad)).toThrow();
  });
});
