/**
 * One file from its path to located findings: read, prefilter, parse and check, then turn offsets
 * into 1-based lines and columns. Runs in a worker (or on the calling thread for small trees), so
 * file texts never travel between threads.
 */
import { readFileSync } from "node:fs";
import { checkSource } from "./check-file.js";
import { mayContainFinding } from "./prefilter.js";
import type { ScanRuleId } from "./rules.js";

export interface Located {
  line: number;
  column: number;
  message: string;
}

export interface FileOutcome {
  /** False when the prefilter showed the file cannot hold a finding. */
  parsed: boolean;
  findings: Array<Located & { rule: ScanRuleId }>;
  parseError: Located | null;
}

/** 1-based line and column (UTF-16 units, as editors count) of each offset, in one pass over the text. */
export function positions(text: string, offsets: readonly number[]): Map<number, { line: number; column: number }> {
  const out = new Map<number, { line: number; column: number }>();
  let line = 1;
  let lineStart = 0;
  let i = 0;
  for (const offset of [...new Set(offsets)].sort((a, b) => a - b)) {
    for (; i < offset && i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    out.set(offset, { line, column: offset - lineStart + 1 });
  }
  return out;
}

export function checkPath(path: string): FileOutcome {
  const text = readFileSync(path, "utf8");
  if (!mayContainFinding(text)) return { parsed: false, findings: [], parseError: null };
  const result = checkSource(path, text);
  const offsets = result.findings.map((f) => f.offset);
  if (result.parseError) offsets.push(result.parseError.offset);
  const at = positions(text, offsets);
  return {
    parsed: true,
    findings: result.findings.map((f) => ({ rule: f.rule, ...at.get(f.offset)!, message: f.message })),
    parseError: result.parseError ? { ...at.get(result.parseError.offset)!, message: result.parseError.message } : null,
  };
}
