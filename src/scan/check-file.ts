/**
 * One file: parse it with oxc-parser, find every call that creates a Replicate prediction or run,
 * and judge each against the rules. Pure (text in, findings out), so it runs the same in a worker.
 */
import { createRequire } from "node:module";
import type { parseSync as ParseSync } from "oxc-parser";
import { GUIDANCE, LOCKED_GENERATION_INPUT } from "../locked.js";
import { collectFacts, keyName, type AstNode, type FileFacts } from "./ast.js";
import { creationCall, type CreationCall } from "./replicate-calls.js";
import { LORA_KEYS, type ScanRuleId } from "./rules.js";
import { alternatives, evaluate } from "./static-value.js";

/** Every key of the locked table but prompt and seed; `guidance` and `guidance_scale` are the same input. */
const LOCKED: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ["guidance", GUIDANCE],
  ["guidance_scale", GUIDANCE],
  ...Object.entries(LOCKED_GENERATION_INPUT),
]);

/** Findings of one file, located by UTF-16 offset (the caller turns offsets into lines). */
export interface RawFinding {
  rule: ScanRuleId;
  offset: number;
  message: string;
}

export interface FileResult {
  findings: RawFinding[];
  parseError: { offset: number; message: string } | null;
}

// Loaded on first use, so that importing the SDK does not load the native parser.
let parser: typeof ParseSync | undefined;
function parse(...args: Parameters<typeof ParseSync>): ReturnType<typeof ParseSync> {
  parser ??= (createRequire(import.meta.url)("oxc-parser") as { parseSync: typeof ParseSync }).parseSync;
  return parser(...args);
}

function lang(path: string): "jsx" | "ts" | "tsx" {
  if (/\.tsx$/.test(path)) return "tsx";
  if (/\.[cm]?ts$/.test(path)) return "ts";
  return "jsx";
}

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));

function checkCall(c: CreationCall, facts: FileFacts, out: RawFinding[]): void {
  const before = out.length;
  for (const ref of c.refs) {
    for (const alt of alternatives(ref, facts.bindings)) {
      if (alt.kind !== "literal") continue;
      out.push({
        rule: "scan.shared-model",
        offset: alt.node.start,
        message: `${c.via} generates from the fixed ${show(alt.value)}, not from the end user's own model.`,
      });
    }
  }
  if (c.fixed) {
    out.push({ rule: "scan.shared-model", offset: c.fixed.node.start, message: `${c.via} generates from the fixed ${show(c.fixed.name)}, not from the end user's own model.` });
  }
  const input = c.input ? evaluate(c.input, facts.bindings) : null;
  if (input?.kind === "object") checkInput(input.node, c, facts, out, 0);
  if (out.length === before) {
    out.push({
      rule: "scan.direct-call",
      offset: c.call.start,
      message: `${c.via} creates a Replicate prediction outside sselfie.`,
    });
  }
}

function checkInput(object: AstNode, c: CreationCall, facts: FileFacts, out: RawFinding[], depth: number): void {
  for (const p of object.properties) {
    if (p.type === "SpreadElement") {
      const inner = evaluate(p.argument, facts.bindings);
      if (inner.kind === "object" && depth < 8) checkInput(inner.node, c, facts, out, depth + 1);
      continue;
    }
    const key = keyName(p.key, p.computed);
    if (key === null) continue;
    if (LORA_KEYS.has(key)) {
      out.push({ rule: "scan.lora-weights", offset: p.key.start, message: `${c.via} passes ${key}: a base model plus LoRA weights.` });
      continue;
    }
    if (!LOCKED.has(key)) continue;
    const locked = LOCKED.get(key);
    const value = evaluate(p.value, facts.bindings);
    if (value.kind === "literal" && value.value === locked) continue;
    out.push({
      rule: "scan.unlocked-input",
      offset: p.key.start,
      message:
        value.kind === "literal"
          ? `${c.via} sets ${key} to ${show(value.value)}; it is locked at ${show(locked)}.`
          : `${c.via} sets ${key} from a value computed at run time; it is locked at ${show(locked)}.`,
    });
  }
}

export function checkSource(path: string, text: string): FileResult {
  const parsed = parse(path, text, { lang: lang(path), preserveParens: false, sourceType: /\.c[jt]s$/.test(path) ? "commonjs" : "unambiguous" });
  const error = parsed.errors.find((e) => e.severity === "Error");
  const parseError = error ? { offset: error.labels[0]?.start ?? 0, message: error.message } : null;
  const facts = collectFacts(parsed.program as unknown as AstNode, LORA_KEYS);
  const findings: RawFinding[] = [];
  let creating = false;
  for (const call of facts.calls) {
    const c = creationCall(call, facts);
    if (!c) continue;
    creating = true;
    checkCall(c, facts, findings);
  }
  // LoRA keys built apart from the call (`input.hf_lora = url`, a helper's object) in a file that creates predictions.
  if (creating) {
    for (const key of facts.loraKeys) {
      findings.push({ rule: "scan.lora-weights", offset: key.start, message: `${keyName(key, false) ?? "a LoRA key"} names LoRA weights for a base model.` });
    }
  }
  return { findings: dedupe(findings), parseError };
}

/** One finding per rule and place (a constant used by two calls is one literal to fix). */
function dedupe(findings: RawFinding[]): RawFinding[] {
  const seen = new Set<string>();
  return findings
    .sort((a, b) => a.offset - b.offset)
    .filter((f) => {
      const k = `${f.rule}@${f.offset}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}
