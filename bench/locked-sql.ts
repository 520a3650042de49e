/** SQL that seeds generations with the locked input, shared by the benchmarks that plant them. */
import { buildGenerationInput, canonicalJson } from "../src/locked.js";

/**
 * The canonical JSON of a locked input split around its prompt and seed, so that SQL can build
 * (and hash) the input of any prompt and seed: before || to_json(prompt) || between || seed || after.
 */
export function canonicalParts(): { before: string; between: string; after: string } {
  const text = canonicalJson(buildGenerationInput("\u0001P", 424242, "guidance_scale"));
  const [before, rest] = text.split('"\\u0001P"') as [string, string];
  const [between, after] = rest.split("424242") as [string, string];
  return { before, between, after };
}
