/**
 * The rules of `sselfie scan` (CONTRACT.md, "Scanning backend code"): code that calls Replicate
 * around sselfie's locked architecture. Each has a stable id, a one-line description and the fix.
 */
export type ScanRuleId = "scan.shared-model" | "scan.lora-weights" | "scan.unlocked-input" | "scan.direct-call";

export interface ScanRule {
  id: ScanRuleId;
  /** One line: what the rule finds. */
  description: string;
  /** What to change, in one sentence. */
  fix: string;
  /** The fix and the way through the SDK, as code scanning shows it. */
  help: string;
}

export const USE_THE_SDK =
  "Generate through sselfie instead: `await sselfie.generations.create({ userId, prompt })` (or `sselfie generate --user <id> --prompt ...`) " +
  "resolves the user's own completed model and sends the locked input; nothing else may create a prediction.";

const RULES: ReadonlyArray<Omit<ScanRule, "help">> = [
  {
    id: "scan.shared-model",
    description: "A Replicate prediction or run from a fixed model or version (a literal such as black-forest-labs/flux-dev), not the end user's own model.",
    fix: "Every generation must come from the end user's own trained model ({owner}/{userId}-selfie-lora at its completed version), never a shared or base model.",
  },
  {
    id: "scan.lora-weights",
    description: "An input naming LoRA weights (lora_weights, hf_lora, extra_lora, lora_url): a base model plus weights instead of the user's own model.",
    fix: "Base model + LoRA-weights calls are forbidden with no switch to enable them.",
  },
  {
    id: "scan.unlocked-input",
    description: "A locked generation input (guidance, num_inference_steps, num_outputs, aspect_ratio, output_format, output_quality, go_fast, disable_safety_checker) set to another value or computed at run time.",
    fix: "The generation input is locked (guidance 2.8, 35 steps, 3 outputs, 3:4, png, quality 95, go_fast false, safety checker on); only prompt and seed may vary. Remove per-request overrides and sliders.",
  },
  {
    id: "scan.direct-call",
    description: "A Replicate prediction or run created outside sselfie (official client or HTTP to api.replicate.com).",
    fix: "Reading predictions (get, list, cancel, wait) is fine; creating one is sselfie's job.",
  },
];

export const SCAN_RULES: readonly ScanRule[] = RULES.map((r) => ({ ...r, help: `${r.fix} ${USE_THE_SDK}` }));

export function scanRule(id: ScanRuleId): ScanRule {
  return SCAN_RULES.find((r) => r.id === id)!;
}

/** Input keys that carry LoRA weights into a base model. */
export const LORA_KEYS: ReadonlySet<string> = new Set(["lora_weights", "hf_lora", "extra_lora", "lora_url"]);
