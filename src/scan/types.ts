import type { ScanRuleId } from "./rules.js";

export interface ScanParams {
  /** Files or folders to scan (default `["."]`), relative to `cwd`. */
  paths?: readonly string[];
  /** The folder paths are relative to and findings are reported against (default: the process's). */
  cwd?: string;
}

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
  /** Worker threads for parsing; 0 parses on the calling thread. Default: one per core, at most 4. */
  workers?: number;
}

export interface ScanProgress {
  /** Source files found so far. */
  files: number;
  /** Files that passed the text prefilter and were (or are being) parsed. */
  parsed: number;
  /** Files completely checked. */
  done: number;
}

export interface ScanFinding {
  rule: ScanRuleId;
  /** Relative to `cwd`, with forward slashes. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units as editors count them. */
  column: number;
  message: string;
}

/** A file the parser could not read completely; it was checked as far as it parsed. */
export interface ScanParseError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ScanReport {
  ok: boolean;
  /** Source files scanned (prefiltered ones included). */
  scanned: number;
  findings: ScanFinding[];
  parsed: number;
  parseErrors: ScanParseError[];
  durationMs: number;
}
